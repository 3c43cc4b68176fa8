"""One way of writing dates and times per language, used by every page (FORMAT_MODULE_PATH):
templates name the format (SHORT_DATE_FORMAT, SHORT_DATETIME_FORMAT, TIME_FORMAT) rather
than spelling one out. Both languages write the day as 2026-12-02 and the time as 18:30, as
the date inputs do, so a date reads the same in a list, a form and a workbook; months are
written in words (2026年12月, December 2026)."""
