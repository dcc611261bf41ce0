{#
    The changes recorded in a check-strategy snapshot with hard_deletes: new_record, one row
    per key x tracked column x change: `added` (a key first seen after the snapshot's first
    build, or back after a removal), `changed` (a tracked column differs from the version before), `removed` (the key
    left the registry). Values are text; changed_at is when the build that saw it ran.

    relation: the snapshot; keys: its unique key columns (initiative_id first); item_id: an
    expression naming the item within the initiative; subject: what kind of item it is;
    columns: the tracked columns.
#}
{% macro snapshot_changes(relation, keys, item_id, subject, columns) -%}
    {%- set partition = keys | join(', ') -%}
    {%- set window = 'over (partition by ' ~ partition ~ ' order by dbt_valid_from)' -%}
    select
        initiative_id,
        {{ item_id }} as item_id,
        '{{ subject }}' as change_subject,
        attribute,
        case
            when is_deleted then 'removed'
            when version_number = 1 or was_deleted then 'added'
            else 'changed'
        end as change_kind,
        case when version_number = 1 or was_deleted then null else value_from end as value_from,
        case when is_deleted then null else value_to end as value_to,
        cast(dbt_valid_from as {{ dbt.type_timestamp() }}) as changed_at
    from (
        {%- for column in columns %}
            select
                {{ partition }},
                dbt_valid_from,
                version_number,
                is_deleted,
                was_deleted,
                first_snapshot_at,
                '{{ column }}' as attribute,
                cast(previous_{{ column }} as {{ dbt.type_string() }}) as value_from,
                cast({{ column }} as {{ dbt.type_string() }}) as value_to,
                (
                    version_number = 1
                    or is_deleted
                    or was_deleted
                    or {{ column }} != previous_{{ column }}
                    or ({{ column }} is null) != (previous_{{ column }} is null)
                ) as is_change
            from (
                select
                    *,
                    row_number() {{ window }} as version_number,
                    coalesce(dbt_is_deleted = 'True', false) as is_deleted,
                    coalesce(lag(dbt_is_deleted) {{ window }} = 'True', false) as was_deleted,
                    lag({{ column }}) {{ window }} as previous_{{ column }},
                    min(dbt_valid_from) over () as first_snapshot_at
                from {{ relation }}
            ) as versions
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as changes
    where
        is_change
        and not (version_number = 1 and dbt_valid_from = first_snapshot_at)
        and not (is_deleted and was_deleted)
{%- endmacro %}
