"""Set-based SQL for many rows at once: the one place that knows PostgreSQL from SQLite.

On PostgreSQL each column travels as ONE typed array parameter (`= ANY(%s)`, `unnest(%s, …)`),
or as one scalar when every row holds the same value: a statement with a handful of placeholders
whatever the row count. psycopg's client-side handling of thousands of placeholders, and
Django's CASE-per-row bulk_update, cost seconds of Python per few hundred rows. Elsewhere (the embedded SQLite shape) the ORM's own bulk calls do.
Business modules call these functions and never import a database driver.
"""

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Field, ForeignObject, JSONField, Lookup


@Field.register_lookup
@ForeignObject.register_lookup
class AnyOf(Lookup):
    """`filter(owner_id__any_of=ids)`: one array parameter on PostgreSQL, `IN (…)` elsewhere."""

    lookup_name = "any_of"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            db_type = self.lhs.output_field.db_type(connection)
            if db_type in INTEGER_TYPES:
                return f"{lhs} = ANY(%s::{db_type}[])", [*lhs_params, _array_param(self.lhs.output_field, values)]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


INTEGER_TYPES = ("integer", "bigint", "smallint")


def _array_param(field, values: list):
    """One array parameter. Integers travel as one array literal ("{1,2,3}"): psycopg then
    quotes one string instead of dumping each element, which costs microseconds apiece."""
    if field.db_type(connection) in INTEGER_TYPES and set(map(type, values)) <= {int}:
        return "{" + ",".join(map(str, values)) + "}"
    return [_array_value(field, value) for value in values]


def _array_value(field, value):
    if isinstance(field, JSONField):
        from psycopg.types.json import Jsonb  # only reached on PostgreSQL

        return Jsonb(value)
    return value


def _same(values: list) -> bool:
    first = values[0]
    return all(type(value) is type(first) and value == first for value in values)


def _columns(columns: list[tuple[Field, list]], *, keep_array: int | None = 0) -> tuple[list, list, list, list]:
    """Typed SQL for many rows' columns, each given as (field, one value per row): a column with
    one value for every row travels as ONE scalar parameter, the others as a typed array to
    unnest. Each array element costs psycopg Python to quote; a constant column costs it once.

    Returns (per column: its value as `%s::type` or `v.cN`; the scalars' parameters in column
    order; the unnest casts `%s::type[]`; the arrays). Column `keep_array` stays an array
    whatever its values, so unnest yields the rows.
    """
    values, scalars, casts, arrays = [], [], [], []
    for index, (field, column) in enumerate(columns):
        db_type = field.db_type(connection)
        if index != keep_array and _same(column):
            values.append(f"%s::{db_type}")
            scalars.append(_array_value(field, column[0]))
        else:
            values.append(f"v.c{len(arrays)}")
            casts.append(f"%s::{db_type}[]")
            arrays.append(_array_param(field, column))
    return values, scalars, casts, arrays


def _of(objects: Sequence[models.Model], fields) -> list[tuple[Field, list]]:
    return [(field, [getattr(obj, field.attname) for obj in objects]) for field in fields]


def update_from_objects(
    model: type[models.Model], objects: Sequence[models.Model], fields: Iterable[str], *, only_if: dict | None = None
) -> int:
    """Write `fields` of many rows in ONE statement (UPDATE … FROM unnest on PostgreSQL).

    `only_if` maps a column to one expected current value per object (same order): a row is
    written only while it still holds that value, as in a conditional single-row update.
    Returns how many rows were written.
    """
    objects = list(objects)
    if not objects:
        return 0
    only_if = only_if or {}
    meta = model._meta
    if connection.vendor != "postgresql":
        written = 0
        names = list(fields)
        for index, obj in enumerate(objects):
            condition = {name: values[index] for name, values in only_if.items()}
            written += model._base_manager.filter(pk=obj.pk, **condition).update(
                **{name: getattr(obj, meta.get_field(name).attname) for name in names}
            )
        return written
    model_fields = [meta.pk] + [meta.get_field(name) for name in fields]
    guard_fields = [meta.get_field(name) for name in only_if]
    columns = _of(objects, model_fields) + [(field, list(only_if[field.name])) for field in guard_fields]
    values, scalars, casts, arrays = _columns(columns)
    quote = connection.ops.quote_name
    # In placeholder order: the SET scalars, the arrays to unnest, the WHERE scalars.
    set_values, guard_values = values[1 : len(model_fields)], values[len(model_fields) :]
    sets = [f"{quote(field.column)} = {value}" for field, value in zip(model_fields[1:], set_values, strict=True)]
    guards = [f" AND d.{quote(field.column)} = {value}" for field, value in zip(guard_fields, guard_values, strict=True)]
    aliases = ", ".join(f"c{index}" for index in range(len(casts)))
    pk = f"d.{quote(meta.pk.column)}"
    # Identifiers come from model metadata; every value is a bound parameter. The keys also as
    # `= ANY`: the plan then probes the primary key for them, where a join alone, on statistics
    # older than the table's growth, can become a scan of every row and its dead versions.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS d SET "  # noqa: S608
        + ", ".join(sets)
        + f" FROM unnest({', '.join(casts)}) AS v({aliases}) WHERE {pk} = {values[0]}"
        + f" AND {pk} = ANY({casts[0]})"
        + "".join(guards)
    )
    set_count = sum(1 for value in set_values if value.startswith("%s"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*scalars[:set_count], *arrays, arrays[0], *scalars[set_count:]])
        return cursor.rowcount


def update_in_groups(model: type[models.Model], groups: Iterable[tuple[Sequence, dict]]) -> int:
    """Write many rows in ONE statement, given as groups of primary keys that get the same
    values: `(pks, {field: value})`, every group naming the same fields. Each group is one
    index scan of its keys (`= ANY`), so the plan never scans the table whatever the planner
    guesses about the row count. Returns how many rows were written."""
    groups = [(list(pks), values) for pks, values in groups if pks]
    if not groups:
        return 0
    if connection.vendor != "postgresql":
        return sum(model._base_manager.filter(pk__in=pks).update(**values) for pks, values in groups)
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in groups[0][1]]
    casts = ", ".join([f"%s::{meta.pk.db_type(connection)}[]", *(f"%s::{f.db_type(connection)}" for f in fields)])
    params = []
    for pks, values in groups:
        params.append(_array_param(meta.pk, pks))
        params += [_array_value(f, f.get_db_prep_save(values[f.name], connection)) for f in fields]
    aliases = ", ".join(["pks", *(f"c{i}" for i in range(len(fields)))])
    # Identifiers come from model metadata; every value is a bound parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS d SET "  # noqa: S608
        + ", ".join(f"{quote(f.column)} = g.c{i}" for i, f in enumerate(fields))
        + f" FROM (VALUES {', '.join([f'({casts})'] * len(groups))}) AS g({aliases})"
        + f" WHERE d.{quote(meta.pk.column)} = ANY(g.pks)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert_objects(
    model: type[models.Model], objects: Sequence[models.Model], *, skip_conflicts_on: str | None = None
) -> list[models.Model]:
    """Insert many rows in ONE statement and set their primary keys; returns the rows inserted.

    Unique constraints still apply: a duplicate raises IntegrityError, unless
    `skip_conflicts_on` names a unique field, where rows conflicting on it are left out of the
    result instead (another writer got there first).
    """
    objects = list(objects)
    if not objects:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        if skip_conflicts_on is None:
            return model._base_manager.bulk_create(objects)
        inserted = []
        for obj in objects:
            try:
                with transaction.atomic():
                    obj.save(force_insert=True)
                inserted.append(obj)
            except IntegrityError:
                continue
        return inserted
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values, scalars, casts, arrays = _columns(_of(objects, fields))
    params = [*scalars, *arrays]
    quote = connection.ops.quote_name
    key = meta.get_field(skip_conflicts_on) if skip_conflicts_on else None
    columns = ", ".join(quote(f.column) for f in fields)
    aliases = ", ".join(f"c{index}" for index in range(len(casts)))
    # Identifiers come from model metadata; every value is a bound parameter. Rows come back in
    # the order they were given (as Django's own bulk_create relies on) unless some are skipped,
    # when the unique key tells them apart.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM unnest({', '.join(casts)}) AS v({aliases})"
        + (f" ON CONFLICT ({quote(key.column)}) DO NOTHING" if key else "")
        + f" RETURNING {quote(meta.pk.column)}"
        + (f", {quote(key.column)}" if key else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    if key is None:
        pairs = zip(objects, (row[0] for row in returned), strict=True)
    else:
        ids = {row[1]: row[0] for row in returned}
        pairs = ((obj, ids[getattr(obj, key.attname)]) for obj in objects if getattr(obj, key.attname) in ids)
    inserted = []
    for obj, pk in pairs:
        obj.pk = pk
        obj._state.adding = False
        inserted.append(obj)
    return inserted


def insert_columns(
    model: type[models.Model], columns: dict, *, skip_conflicts_on: str | None = None, returning: str = "pk"
) -> list:
    """Insert rows given column-wise, in ONE statement, without building model instances: a list
    is one value per row, anything else is the same value for every row. Returns `returning` of
    the rows inserted (rows conflicting on the unique `skip_conflicts_on` are left out)."""
    meta = model._meta
    lists = {name: values for name, values in columns.items() if isinstance(values, list | tuple)}
    count = len(next(iter(lists.values()))) if lists else 0
    if not count:
        return []
    if connection.vendor != "postgresql":
        # Columns may name a foreign key ("user") with an id: build instances by attname ("user_id").
        attnames = {name: meta.get_field(name).attname for name in columns}
        rows = [
            model(**{attnames[name]: (values[i] if name in lists else values) for name, values in columns.items()})
            for i in range(count)
        ]
        inserted = insert_objects(model, rows, skip_conflicts_on=skip_conflicts_on)
        return [getattr(obj, meta.get_field(returning).attname if returning != "pk" else "pk") for obj in inserted]
    quote = connection.ops.quote_name
    fields = {name: meta.get_field(name) for name in columns}
    array_names = [name for name in columns if name in lists]
    select, params = [], []
    for name, field in fields.items():
        if name in lists:
            select.append(f"v.c{array_names.index(name)}")
        else:
            select.append(f"%s::{field.db_type(connection)}")
            params.append(_array_value(field, field.get_db_prep_save(columns[name], connection)))
    unnest = ", ".join(f"%s::{fields[name].db_type(connection)}[]" for name in array_names)
    params += [_array_param(fields[name], list(lists[name])) for name in array_names]
    returned = meta.pk if returning == "pk" else meta.get_field(returning)
    key = meta.get_field(skip_conflicts_on) if skip_conflicts_on else None
    # Identifiers come from model metadata; every value is a bound parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields.values())}) "  # noqa: S608
        f"SELECT {', '.join(select)} FROM unnest({unnest}) AS v({', '.join(f'c{i}' for i in range(len(array_names)))})"
        + (f" ON CONFLICT ({quote(key.column)}) DO NOTHING" if key else "")
        + f" RETURNING {quote(returned.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def analyze(model: type[models.Model], *, columns: Sequence[str] = ()) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL): with a hundred thousand
    rows it has never counted, it would sort a whole job's rows instead of walking an index.
    `columns` (field names) limits the work to those columns' statistics; the row and page
    counts are refreshed either way."""
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        names = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}{f' ({names})' if names else ''}")
