# Japanese conventions: 2026年1月5日 9:00 UTC (times are UTC, so the zone is always shown).
DATE_FORMAT = "Y年n月j日"
DATETIME_FORMAT = "Y年n月j日 G:i T"
SHORT_DATE_FORMAT = "Y年n月j日"
SHORT_DATETIME_FORMAT = "Y年n月j日 G:i T"
