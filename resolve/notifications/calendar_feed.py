"""The personal iCalendar feed: one all-day event per due date (RFC 5545, through ``icalendar``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event

from resolve.notifications.selectors import DueDate


def calendar_feed(*, due_dates: Iterable[DueDate], base_url: str, now: dt.datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Resolve//Due dates//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Resolve due dates")
    for item in due_dates:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", now)
        event.add("dtstart", item.on)
        event.add("dtend", item.on + dt.timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("transp", "TRANSPARENT")
        if base_url:
            event.add("url", base_url.rstrip("/") + item.link)
        calendar.add_component(event)
    return calendar.to_ical()
