// Live updates for the board page: tidal.js joins the board's channel; each committed
// change to a card arrives as a "card:insert" or "card:update" event with the card's row.
import { connect } from "/_tidal/static/tidal/tidal.js";

const STATUSES = ["todo", "doing", "done"];
const board = document.querySelector(".columns").dataset.board;
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const channel = connect().channel(`board:${board}`);

function show(card) {
  let item = document.getElementById(`card-${card.id}`);
  if (!item) {
    item = document.getElementById("card-template").content.firstElementChild.cloneNode(true);
    item.id = `card-${card.id}`;
    item.dataset.id = card.id;
  }
  item.querySelector(".title").textContent = card.title;
  const column = document.getElementById(card.status);
  const next = [...column.children].find((other) => Number(other.dataset.id) > card.id);
  column.insertBefore(item, next ?? null); // cards stay in the order they were made
}

channel.on("card:insert", (change) => show(change.data));
channel.on("card:update", (change) => show(change.data));
channel.onPresence((state) => {
  const names = Object.values(state).map((metas) => metas[0].username);
  document.getElementById("here").textContent = names.sort().join(", ");
});
channel.onGone(() => location.reload()); // missed too much while offline: start over

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-step]");
  if (!button) return;
  const card = button.closest("li");
  const status = STATUSES[STATUSES.indexOf(card.parentElement.id) + Number(button.dataset.step)];
  if (!status) return;
  await fetch(`/cards/${card.dataset.id}/move`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
    body: JSON.stringify({ status }),
  });
});

channel.join();
