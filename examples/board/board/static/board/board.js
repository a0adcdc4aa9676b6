/**
 * board.js: the live board and card pages. A plain ES module, no build step.
 *
 * The server renders the page; this script keeps it current. It joins the board's
 * channel (tidal.js), where every committed change to the board's rows arrives as a model
 * broadcast ("card:update", "list:insert", ...) with the row's data, and applies each one
 * to the page; that includes the changes this page makes, so every member's page runs the
 * same code. Changes go through the JSON API (session cookie + CSRF header). When the
 * connection drops, tidal.js reconnects and replays what was missed; if that history is
 * gone, the board is fetched again from the API.
 */

import { connect } from "/_tidal/static/tidal/tidal.js";

const page = JSON.parse(document.getElementById("board-data").textContent);
const csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
const STATUS_TEXT = { connecting: "Connecting…", open: "Live", closed: "Offline" };

// -- talking to the server ----------------------------------------------------------------

class ApiError extends Error {}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRF-Token": csrfToken,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signedOut();
    throw new ApiError("You are signed out.");
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(problem.errors?.[0]?.message ?? problem.detail ?? response.statusText);
  }
  return response.status === 204 ? null : response.json();
}

function signedOut() {
  const next = encodeURIComponent(location.pathname);
  location.assign(`/auth/login?next=${next}`);
}

let toastTimer;
function toast(message) {
  let box = document.getElementById("toast");
  if (!box) {
    box = document.createElement("div");
    box.id = "toast";
    box.setAttribute("role", "alert");
    document.body.append(box);
  }
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 5000);
}

function announce(message) {
  const live = document.getElementById("announce");
  if (live) live.textContent = message;
}

const socket = connect();
const channel = socket.channel(`board:${page.board}`);
const status = document.getElementById("status");

let wasOpen = false;

/** The page lost the board: signed out (then to the login page), or no longer a member. */
async function lostAccess(message) {
  const check = await fetch(`/api/boards/${page.board}`, { headers: { Accept: "application/json" } });
  if (check.status === 401) {
    signedOut();
  } else if (check.status === 404) {
    toast("You are no longer a member of this board.");
    setTimeout(() => location.assign("/boards"), 1500);
  } else {
    toast(message);
  }
}

socket.onStatus((state) => {
  status.dataset.status = state;
  status.textContent = state === "connecting" && wasOpen ? "Reconnecting…" : STATUS_TEXT[state];
  if (state === "open") wasOpen = true;
  // Closed for good: signed out (on any tab or worker), or refused.
  if (state === "closed") lostAccess("The live connection closed. Reload the page to reconnect.");
});
channel.onLeft(() => lostAccess("This page stopped receiving changes. Reload it."));

/** Handle a model broadcast (`{model, action, pk, data, changed}`) with its row, `data`. */
function onRow(event, fn) {
  channel.on(event, (broadcast) => fn(broadcast.data));
}

// -- people -----------------------------------------------------------------------------

function hue(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return String(hash % 8);
}

function avatar(name, tag = "span") {
  const element = document.createElement(tag);
  element.className = "avatar";
  element.dataset.name = name;
  element.dataset.hue = hue(name);
  element.textContent = name.slice(0, 1).toUpperCase();
  element.title = name;
  return element;
}

for (const element of document.querySelectorAll(".avatar[data-name]")) {
  element.dataset.hue = hue(element.dataset.name);
}

function showPresence(state) {
  const list = document.getElementById("presence");
  if (!list) return;
  const names = Object.values(state)
    .map((metas) => metas[0]?.username)
    .filter(Boolean)
    .sort();
  list.replaceChildren(
    ...names.map((name) => {
      const item = avatar(name, "li");
      item.title = `${name} is viewing this board`;
      return item;
    }),
  );
}
channel.onPresence(showPresence);

// -- forms: sent to the API instead of posting the page --------------------------------------

const FORM_ROUTES = {
  "add-card": (form) => ["POST", `/api/lists/${listOf(form).dataset.listId}/cards`],
  "list-title": (form) => ["PATCH", `/api/lists/${listOf(form).dataset.listId}`],
  "add-list": () => ["POST", `/api/boards/${page.board}/lists`],
  "board-title": () => ["PATCH", `/api/boards/${page.board}`],
  "edit-card": () => ["PATCH", `/api/cards/${page.card}`],
  "add-comment": () => ["POST", `/api/cards/${page.card}/comments`],
};
const AFTER_SUBMIT = {}; // filled by the page below: form kind -> (result) => void

function listOf(element) {
  return element.closest(".list");
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const route = FORM_ROUTES[form.dataset.api];
  if (!route) return;
  event.preventDefault();
  const fields = [...new FormData(form)].filter(([name]) => name !== "csrf_token");
  const [method, path] = route(form);
  try {
    const result = await api(method, path, Object.fromEntries(fields));
    AFTER_SUBMIT[form.dataset.api]?.(result, form);
    const details = form.closest("details");
    if (details) details.open = false;
    else if (form.dataset.api !== "edit-card") form.reset();
  } catch (error) {
    toast(error.message);
  }
});

// -- the board page ---------------------------------------------------------------------

function boardPage() {
  const lists = document.getElementById("lists");
  const cardTemplate = document.getElementById("card-template");
  const listTemplate = document.getElementById("list-template");

  const cardElement = (id) => lists.querySelector(`.card[data-card-id="${id}"]`);
  const listElement = (id) => lists.querySelector(`.list[data-list-id="${id}"]`);
  const cardsOf = (list) => list.querySelector("ol.cards");
  const cardList = (card) => card.closest(".list");

  function setInput(input, value) {
    if (document.activeElement !== input) input.value = value;
    input.defaultValue = value;
  }

  function countCards() {
    for (const list of lists.querySelectorAll(".list[data-list-id]")) {
      list.querySelector(".count").textContent = cardsOf(list).children.length;
    }
  }

  /** Put `element` in `parent` among the siblings matching `selector`, in (position, id)
   * order; `last` is what follows them all (null: the end). */
  function place(parent, element, selector, last = null) {
    const key = (node) => [
      Number(node.dataset.position),
      Number(node.dataset.cardId ?? node.dataset.listId),
    ];
    const [position, id] = key(element);
    const next =
      [...parent.children].find((other) => {
        if (other === element || !other.matches(selector)) return false;
        const [theirPosition, theirId] = key(other);
        return theirPosition > position || (theirPosition === position && theirId > id);
      }) ?? last;
    if (element.parentElement === parent && element.nextElementSibling === next) return;
    const focused = element.contains(document.activeElement);
    parent.insertBefore(element, next);
    if (focused) element.focus();
  }

  function applyCard(card) {
    let element = cardElement(card.id);
    if (!element) {
      element = cardTemplate.content.firstElementChild.cloneNode(true);
      element.dataset.cardId = card.id;
    }
    element.dataset.position = card.position;
    const link = element.querySelector(".card-title");
    link.textContent = card.title;
    link.href = `/cards/${card.id}`;
    const comments = element.querySelector(".badge.comments");
    comments.textContent = card.comment_count;
    comments.hidden = !card.comment_count;
    element.querySelector(".badge.notes").hidden = !card.description;
    const list = listElement(card.list_id);
    if (!list) return refresh(); // a list this page has not seen yet
    if (!element.classList.contains("dragging")) place(cardsOf(list), element, ".card");
    countCards();
  }

  function removeCard(id) {
    cardElement(id)?.remove();
    countCards();
  }

  function applyList(data) {
    let list = listElement(data.id);
    if (!list) {
      list = listTemplate.content.firstElementChild.cloneNode(true);
      list.dataset.listId = data.id;
      cardsOf(list).dataset.listId = data.id;
      list.querySelector("form[data-api=list-title]").action = `/lists/${data.id}/title`;
      list.querySelector("form[data-api=add-card]").action = `/lists/${data.id}/cards`;
      bindDrop(list);
    }
    list.dataset.position = data.position;
    list.querySelector(".list-title").textContent = data.title;
    setInput(list.querySelector("form[data-api=list-title] input[name=title]"), data.title);
    place(lists, list, ".list[data-list-id]", lists.querySelector(".add-list"));
    countCards();
  }

  function applyBoard(data) {
    document.getElementById("board-title").textContent = data.title;
    setInput(document.querySelector("form[data-api=board-title] input[name=title]"), data.title);
    document.title = `${data.title} · Tidal Board`;
  }

  function showMember(data) {
    const members = document.getElementById("members");
    if (!members.querySelector(`[data-user-id="${data.user_id}"]`)) {
      const item = document.createElement("li");
      item.dataset.userId = data.user_id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = data.username;
      const small = avatar(data.username);
      small.classList.add("small");
      item.append(small, " ", name);
      members.append(item);
    }
    countMembers();
  }

  function countMembers() {
    const count = document.getElementById("members").children.length;
    document.getElementById("member-count").textContent = count;
    document.getElementById("member-count").nextSibling.textContent = count === 1 ? " member" : " members";
  }

  /** The whole board again, from the API: after lost history, or a failed change. */
  async function refresh() {
    const board = await api("GET", `/api/boards/${page.board}`);
    applyBoard(board);
    const listIds = new Set(board.lists.map((list) => String(list.id)));
    for (const list of lists.querySelectorAll(".list[data-list-id]")) {
      if (!listIds.has(list.dataset.listId)) list.remove();
    }
    board.lists.forEach(applyList);
    const cardIds = new Set(board.cards.map((card) => String(card.id)));
    for (const card of lists.querySelectorAll(".card")) {
      if (!cardIds.has(card.dataset.cardId)) card.remove();
    }
    board.cards.forEach(applyCard);
    const memberIds = new Set(board.members.map((member) => String(member.user_id)));
    for (const item of document.querySelectorAll("#members [data-user-id]")) {
      if (!memberIds.has(item.dataset.userId)) item.remove();
    }
    board.members.forEach(showMember);
  }

  onRow("card:insert", applyCard);
  onRow("card:update", applyCard);
  onRow("card:delete", (card) => removeCard(card.id));
  onRow("list:insert", applyList);
  onRow("list:update", applyList);
  onRow("list:delete", (list) => listElement(list.id)?.remove());
  onRow("board:update", applyBoard);
  onRow("member:insert", showMember);
  onRow("member:delete", (member) => {
    document.querySelector(`#members [data-user-id="${member.user_id}"]`)?.remove();
    countMembers();
  });
  channel.onGone(() => refresh().catch((error) => toast(error.message)));

  AFTER_SUBMIT["add-card"] = (card, form) => {
    applyCard(card);
    form.querySelector("input[name=title]").focus();
  };
  AFTER_SUBMIT["add-list"] = applyList;
  AFTER_SUBMIT["list-title"] = applyList;
  AFTER_SUBMIT["board-title"] = applyBoard;

  // -- moving cards: drag and drop, buttons, keys ---------------------------------------

  /** Number the cards of a list 0, 1, 2... as the server will, so that the broadcasts
   * of this move find the page already in order. */
  function renumber(ol) {
    [...ol.children].forEach((card, index) => (card.dataset.position = index));
  }

  async function move(card, ol, index) {
    const from = card.parentElement;
    const others = [...ol.children].filter((other) => other !== card);
    index = Math.max(0, Math.min(index, others.length));
    const focused = card.contains(document.activeElement);
    ol.insertBefore(card, others[index] ?? null);
    if (focused) card.focus();
    renumber(ol);
    if (from !== ol) renumber(from);
    countCards();
    const listName = cardList(card).querySelector(".list-title").textContent;
    const title = card.querySelector(".card-title").textContent;
    announce(`Moved “${title}” to ${listName}, place ${index + 1}.`);
    try {
      await api("POST", `/api/cards/${card.dataset.cardId}/move`, {
        list_id: Number(ol.dataset.listId),
        position: index,
      });
    } catch (error) {
      toast(error.message);
      await refresh();
    }
  }

  function moveBy(card, direction) {
    const ol = card.parentElement;
    const index = [...ol.children].indexOf(card);
    if (direction === "up" || direction === "down") {
      const to = index + (direction === "up" ? -1 : 1);
      if (to >= 0 && to < ol.children.length) move(card, ol, to);
      return;
    }
    const all = [...lists.querySelectorAll(".list[data-list-id]")];
    const next = all[all.indexOf(cardList(card)) + (direction === "left" ? -1 : 1)];
    if (next) move(card, cardsOf(next), index);
  }

  const KEYS = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" };
  lists.addEventListener("keydown", (event) => {
    const card = event.target.closest?.(".card");
    if (!card || event.target !== card) return;
    if (event.key === "Enter") {
      card.querySelector(".card-title").click();
    } else if (KEYS[event.key] && event.shiftKey) {
      event.preventDefault();
      moveBy(card, KEYS[event.key]);
    } else if (KEYS[event.key]) {
      // Plain arrows walk between cards: up/down in a list, left/right across lists.
      event.preventDefault();
      const ol = card.parentElement;
      const index = [...ol.children].indexOf(card);
      let target;
      if (event.key === "ArrowUp") target = card.previousElementSibling;
      else if (event.key === "ArrowDown") target = card.nextElementSibling;
      else {
        const all = [...lists.querySelectorAll(".list[data-list-id]")];
        const next = all[all.indexOf(cardList(card)) + (event.key === "ArrowLeft" ? -1 : 1)];
        const cards = next ? cardsOf(next).children : [];
        target = cards[Math.min(index, cards.length - 1)];
      }
      target?.focus();
    }
  });
  lists.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-move]");
    if (button) moveBy(button.closest(".card"), button.dataset.move);
  });

  let dragged = null;
  lists.addEventListener("dragstart", (event) => {
    const card = event.target.closest?.(".card");
    if (!card) return;
    dragged = { card, from: card.parentElement, index: [...card.parentElement.children].indexOf(card) };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.cardId);
    requestAnimationFrame(() => card.classList.add("dragging"));
  });
  lists.addEventListener("dragend", () => {
    if (!dragged) return;
    const { card, from, index } = dragged;
    dragged = null;
    card.classList.remove("dragging");
    // Dropped outside a list: back to where it was.
    from.insertBefore(card, [...from.children].filter((c) => c !== card)[index] ?? null);
  });

  function bindDrop(list) {
    list.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      const ol = cardsOf(list);
      const after = [...ol.children].find((card) => {
        if (card === dragged.card) return false;
        const box = card.getBoundingClientRect();
        return event.clientY < box.top + box.height / 2;
      });
      if (dragged.card.nextElementSibling !== (after ?? null) || dragged.card.parentElement !== ol) {
        ol.insertBefore(dragged.card, after ?? null);
      }
    });
    list.addEventListener("drop", (event) => {
      if (!dragged) return;
      event.preventDefault();
      const { card } = dragged;
      dragged = null;
      card.classList.remove("dragging");
      const ol = card.parentElement;
      move(card, ol, [...ol.children].indexOf(card));
    });
  }
  for (const list of lists.querySelectorAll(".list[data-list-id]")) bindDrop(list);
}

// -- the card page ----------------------------------------------------------------------

function cardPage() {
  const comments = document.getElementById("comment-list");
  const template = document.getElementById("comment-template");

  function showComment(comment) {
    if (comment.card_id !== page.card) return;
    if (comments.querySelector(`[data-comment-id="${comment.id}"]`)) return;
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.commentId = comment.id;
    item.querySelector(".author").textContent = comment.author;
    const time = item.querySelector("time");
    time.dateTime = comment.created_at;
    time.textContent = "just now";
    item.querySelector("p").textContent = comment.body;
    comments.append(item);
  }

  function showCard(card) {
    if (card.id !== page.card) return;
    document.getElementById("card-title").textContent = card.title;
    document.title = `${card.title} · Tidal Board`;
    const form = document.querySelector("form[data-api=edit-card]");
    if (!form.contains(document.activeElement)) {
      form.elements.title.value = card.title;
      form.elements.description.value = card.description;
    }
  }

  onRow("comment:insert", showComment);
  onRow("card:update", showCard);
  onRow("card:delete", (card) => {
    if (card.id !== page.card) return;
    toast("This card was deleted.");
    setTimeout(() => location.assign(`/boards/${page.board}`), 1500);
  });
  channel.onGone(() => location.reload());
  AFTER_SUBMIT["add-comment"] = showComment;
  AFTER_SUBMIT["edit-card"] = (card) => {
    showCard(card);
    toast("Card saved.");
  };
}

if (document.getElementById("lists")) boardPage();
else cardPage();
channel.join().catch((error) => toast(error.message));
