"""The five plotted health figures, extracted from stored report payloads by the database.

Decoding a hundred JSON payloads in Python costs more than the whole query, so SQLite's
json_extract/json_each and PostgreSQL's json operators pick the figures out instead.
Each row: (measured_at as Unix seconds, battery health %, charge %, worst disk wear %,
least free space %, hottest temperature °C); None where a report lacks the fact.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from server.core.driver_query import DriverQuery

_SQLITE = """
SELECT (julianday(measured_at) - 2440587.5) * 86400.0 AS at,
  coalesce(json_extract(payload, '$.battery.health_pct'),
           100.0 * json_extract(payload, '$.battery.full_capacity_wh')
                 / nullif(json_extract(payload, '$.battery.design_capacity_wh'), 0)) AS health,
  json_extract(payload, '$.battery.charge_pct') AS charge,
  (SELECT max(json_extract(d.value, '$.percentage_used'))
     FROM json_each(payload, '$.disks') AS d) AS wear,
  (SELECT min(100.0 * json_extract(d.value, '$.free_bytes') / json_extract(d.value, '$.size_bytes'))
     FROM json_each(payload, '$.disks') AS d
    WHERE json_extract(d.value, '$.size_bytes') > 0) AS free,
  (SELECT max(v) FROM (
     SELECT json_extract(payload, '$.temperatures.cpu_c') AS v
     UNION ALL SELECT json_extract(payload, '$.temperatures.disk_c')
     UNION ALL SELECT json_extract(d.value, '$.temperature_c')
       FROM json_each(payload, '$.disks') AS d)) AS temp
FROM health_reports
WHERE device_id = :device_id
ORDER BY measured_at DESC
LIMIT :limit
"""

_POSTGRES = """
SELECT extract(epoch FROM measured_at)::float8 AS at,
  coalesce((p->'battery'->>'health_pct')::float,
           100.0 * (p->'battery'->>'full_capacity_wh')::float
                 / nullif((p->'battery'->>'design_capacity_wh')::float, 0)) AS health,
  (p->'battery'->>'charge_pct')::float AS charge,
  (SELECT max((d->>'percentage_used')::float) FROM jsonb_array_elements(disks) AS d) AS wear,
  (SELECT min(100.0 * (d->>'free_bytes')::float / (d->>'size_bytes')::float)
     FROM jsonb_array_elements(disks) AS d
    WHERE (d->>'size_bytes')::float > 0) AS free,
  (SELECT max(v) FROM (
     SELECT (p->'temperatures'->>'cpu_c')::float AS v
     UNION ALL SELECT (p->'temperatures'->>'disk_c')::float
     UNION ALL SELECT (d->>'temperature_c')::float FROM jsonb_array_elements(disks) AS d) AS t
  ) AS temp
FROM (
  -- The column is json (text): parse each payload once, as jsonb, not once per operator.
  SELECT measured_at, p,
         CASE WHEN jsonb_typeof(p->'disks') = 'array' THEN p->'disks' END AS disks
  FROM (SELECT measured_at, payload::jsonb AS p
          FROM health_reports
         WHERE device_id = :device_id
         ORDER BY measured_at DESC
         LIMIT :limit) AS latest
) AS r
ORDER BY measured_at DESC
"""


_STATEMENTS = {"sqlite": DriverQuery(text(_SQLITE)), "postgresql": DriverQuery(text(_POSTGRES))}

Figures = tuple[float, float | None, float | None, float | None, float | None, float | None]


def report_figures(conn: Connection, device_id: int, limit: int) -> list[Figures]:
    """The device's latest `limit` reports as figures, newest first, times as Unix seconds.

    Seconds rather than datetimes: the charts need numbers, and SQLite's stored text made
    a datetime for every point (then a timestamp again) costlier than the query's own work.
    """
    stmt = _STATEMENTS["sqlite" if conn.dialect.name == "sqlite" else "postgresql"]
    return stmt.rows(conn, {"device_id": device_id, "limit": limit})
