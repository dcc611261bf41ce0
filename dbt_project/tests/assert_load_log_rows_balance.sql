-- A failure means a load lost or invented rows: rows read differs from rows loaded plus rows
-- quarantined. Every rejected row must be in quarantine, never silently dropped.
with

loads as (

    select * from {{ ref('stg_evidence__load_log') }}

),

final as (

    select
        target_table,
        source_system,
        source_file,
        loaded_at,
        rows_read,
        rows_loaded,
        rows_quarantined

    from loads
    where rows_read != rows_loaded + rows_quarantined

)

select * from final
