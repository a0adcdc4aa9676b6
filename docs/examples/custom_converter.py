"""A custom path converter: ``{day:date}`` matches 2024-05-31 and hands over a ``date``."""

import datetime

from tidal import Tidal
from tidal.http.converters import Converter, register_converter

register_converter(
    "date",
    Converter(
        regex=r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
        type=datetime.date,
        parse=datetime.date.fromisoformat,  # a ValueError here means "no match": 404
        render=datetime.date.isoformat,  # used by url_path_for
    ),
)

app = Tidal()


@app.get("/diary/{day:date}")
async def diary(day: datetime.date) -> dict[str, str]:
    tomorrow = day + datetime.timedelta(days=1)
    return {"weekday": day.strftime("%A"), "next": app.url_path_for("diary", day=tomorrow)}
