{#
    Incremental processing by observation month (docs/operations.md). A partition run passes
    the months it re-processed in VALUELEDGER_OBSERVATION_MONTHS ('2025-06-01,2025-07-01'; the
    var `observation_months`, a list, does the same by hand); the per-observation models then
    replace only those months (delete+insert). Without them they build in full as tables,
    exactly as before, so a full run and a partition run share one model. The environment
    variable, not a var, is what Dagster sets: a changed var makes dbt re-parse the whole
    project (tens of seconds here), a changed env_var only the files that read it.
#}

{# The months to rebuild (a list of 'YYYY-MM-01'), or none for a full build. #}
{% macro observation_months() -%}
    {%- set months = var('observation_months', none) -%}
    {%- if months is none -%}
        {%- set text = env_var('VALUELEDGER_OBSERVATION_MONTHS', '') | trim -%}
        {%- if text -%}
            {%- set months = text.split(',') | map('trim') | list -%}
        {%- endif -%}
    {%- endif -%}
    {%- if months is string -%}
        {%- set months = [months] -%}
    {%- endif -%}
    {{ return(months) }}
{%- endmacro %}

{# True on a partition run of a model already built: the months given and the table there to
   update (unit tests and first builds have no `this` to update, and build in full). #}
{% macro is_partition_run() -%}
    {{ return(observation_months() is not none and is_incremental()) }}
{%- endmacro %}

{# The config of a per-observation model: a table, or given months, just their slice. #}
{% macro incremental_by_observation_month() -%}
    {{ config(
        materialized='incremental' if observation_months() is not none else 'table',
        incremental_strategy='delete+insert',
        unique_key='observed_month',
        on_schema_change='fail',
        pre_hook="{{ delete_observation_months('observed_month') }}",
    ) }}
{%- endmacro %}

{# The config of a model past the unit-month grain: a table, or on a partition run an append
   after pre-hooks that delete what the run rebuilds. #}
{% macro incremental_on_partition_runs(pre_hook, post_hook=[]) -%}
    {{ config(
        materialized='incremental' if observation_months() is not none else 'table',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=pre_hook,
        post_hook=post_hook,
    ) }}
{%- endmacro %}

{# SQL list of the months as dates; each must be a month's first day. #}
{% macro observation_months_list() -%}
    {%- set dates = [] -%}
    {%- for month in observation_months() -%}
        {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])-01$', month | string) -%}
            {{ exceptions.raise_compiler_error(
                "observation months: '" ~ month ~ "' is not the first day of a month "
                ~ "(YYYY-MM-01), e.g. VALUELEDGER_OBSERVATION_MONTHS=2025-03-01,2025-04-01"
            ) }}
        {%- endif -%}
        {%- do dates.append("cast('" ~ month ~ "' as date)") -%}
    {%- endfor -%}
    ({{ dates | join(', ') if dates else 'cast(null as date)' }})
{%- endmacro %}

{# Only the re-processed months of the observations, on an incremental build. #}
{% macro where_observation_months(date_expression) -%}
    {#- Without months nothing is incremental (and unit tests have no `this` to ask). #}
    {%- if is_partition_run() %}
    where {{ in_observation_months(date_expression) }}
    {%- endif %}
{%- endmacro %}

{# SQL condition: a date in one of the re-processed months. The span of the months first: a
   plain range on the date reaches the scan of the observations (their row groups are skipped
   by their dates), a month of each date does not (1.2-1.7 s against 0.06 s for one month of
   50M observations). #}
{% macro in_observation_months(date_expression) -%}
    (
        {{ date_expression }} >= {{ observation_months_start() }}
        and {{ date_expression }} < {{ observation_months_end() }}
        and {{ month_start(date_expression) }} in {{ observation_months_list() }}
    )
{%- endmacro %}

{#
    Pre-hook: empty the re-processed months first. delete+insert only deletes the months it
    inserts again; a month whose rows all went (file emptied, rows quarantined) must go too.
#}
{% macro delete_observation_months(month_column) -%}
    {%- if is_partition_run() -%}
        delete from {{ this }} where {{ month_column }} in {{ observation_months_list() }}
    {%- endif -%}
{%- endmacro %}

{#
    Past the unit-month grain (int_unit_months_differenced, int_decay_windows_tested) a partition
    run rewrites what its months can have moved: the rows of those months, and every row of a
    cohort x unit whose frozen baseline moved. A baseline usually stays put (its window lies
    before the months re-processed), but a reloaded file's rows carry a new load time, which
    can make rows of a window late, or, when they held the first load of a unit's series, move
    the moment a baseline froze. So the moved baselines are found by comparing the fresh
    int_baselines_frozen with the baselines the differenced rows hold, not assumed. A baseline
    that differs by float noise alone (1e-12 relative) has not moved: a full build carries the
    same noise, far below the 1e-9 to which partition runs are tested equal to full builds.
#}

{# First day of the earliest re-processed month: nothing before it changed but moved baselines.
   observation_months_list() first, for its check of every month's form. #}
{% macro observation_months_start() -%}
    {%- do observation_months_list() -%}
    cast('{{ (observation_months() | sort)[0] }}' as date)
{%- endmacro %}

{# First day after the latest re-processed month. #}
{% macro observation_months_end() -%}
    {%- do observation_months_list() -%}
    cast({{ dbt.dateadd('month', 1, "cast('" ~ (observation_months() | sort)[-1] ~ "' as date)") }} as date)
{%- endmacro %}

{# Where a partition run records the cohort x units whose baselines moved (one table, kept
   until the next partition run: int_decay_windows_tested reads it after the differenced model). #}
{% macro moved_baselines_relation(differenced) -%}
    {{ return(differenced.incorporate(path={"identifier": differenced.identifier ~ "__moved_baselines"})) }}
{%- endmacro %}

{# Where the baselines the differenced rows hold are kept, one row per cohort x unit: comparing
   with them is cheaper than finding them again in the rows (2 s at 50M observations: a
   distinct over 40M rows). Written by record_held_baselines (post-hook). #}
{% macro held_baselines_relation(differenced) -%}
    {{ return(differenced.incorporate(path={"identifier": differenced.identifier ~ "__held_baselines"})) }}
{%- endmacro %}

{# The baselines int_unit_months_differenced takes, one per cohort x unit: what its rows hold
   after a build in full, and what a partition run compares them with. #}
{% macro fresh_baselines() -%}
    select initiative_id, kpi_id, unit_id, cohort_key, unit_key, baseline_mean
    from {{ ref('int_baselines_frozen') }}
    where has_min_observations
{%- endmacro %}

{# First pre-hook of int_unit_months_differenced: record the moved baselines (without an
   earlier table, every baseline counts as moved). The differenced rows name their cohort x
   unit by keys alone: a baseline no longer fresh takes its ids from its cohort (a unit id is
   needed only to measure a baseline again). #}
{% macro record_moved_baselines() -%}
    {%- if observation_months() is not none -%}
        {%- set moved = moved_baselines_relation(this) -%}
        {%- call statement('drop_moved_baselines') -%}
            drop table if exists {{ moved }}
        {%- endcall -%}
        create table {{ moved }} as
        {% if is_incremental() -%}
        with fresh as (
            {{ fresh_baselines() }}
        ),
        held as (
            {%- set kept = load_relation(held_baselines_relation(this)) %}
            {%- if kept is not none %}
            select * from {{ kept }}
            {%- else %}
            select distinct
                cohorts.initiative_id,
                cohorts.kpi_id,
                cast(null as {{ dbt.type_string() }}) as unit_id,
                rows_held.cohort_key,
                rows_held.unit_key,
                rows_held.baseline_mean
            from {{ this }} as rows_held
            inner join {{ ref('int_rollout_cohorts_formed') }} as cohorts
                on rows_held.cohort_key = cohorts.cohort_key
            {%- endif %}
        )
        select
            coalesce(fresh.initiative_id, held.initiative_id) as initiative_id,
            coalesce(fresh.kpi_id, held.kpi_id) as kpi_id,
            fresh.unit_id,
            coalesce(fresh.cohort_key, held.cohort_key) as cohort_key,
            coalesce(fresh.unit_key, held.unit_key) as unit_key
        from fresh
        full outer join held
            on fresh.cohort_key = held.cohort_key
            and fresh.unit_key = held.unit_key
        where fresh.unit_key is null
            or held.unit_key is null
            or {{ baseline_mean_moved('fresh', 'held') }}
        {%- else -%}
        select initiative_id, kpi_id, unit_id, cohort_key, unit_key
        from {{ ref('int_baselines_frozen') }}
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{# SQL condition: the baseline mean of `fresh` differs from the one `held` beyond float noise: a
   parallel sum adds in another order on every build, so the same baseline differs in its last
   bits (at 50M, 1.6M of 2.4M baselines did). #}
{% macro baseline_mean_moved(fresh, held) -%}
    (
        ({{ fresh }}.baseline_mean is null) <> ({{ held }}.baseline_mean is null)
        or abs({{ fresh }}.baseline_mean - {{ held }}.baseline_mean)
        > 1e-12 * greatest(abs({{ fresh }}.baseline_mean), abs({{ held }}.baseline_mean))
    )
{%- endmacro %}

{# Post-hook of int_unit_months_differenced: keep the baselines its rows now hold. A build in
   full holds the fresh baselines; a partition run replaced those of the moved cohort x units
   (the others moved by float noise at most, and keep the value they had). #}
{% macro record_held_baselines() -%}
    {%- set held = held_baselines_relation(this) -%}
    {%- set moved = moved_baselines_relation(this) -%}
    {%- if is_partition_run() and load_relation(held) is not none -%}
        {%- call statement('forget_moved_baselines') -%}
            delete from {{ held }} as held
            using {{ moved }} as moved
            where
                held.cohort_key = moved.cohort_key
                and held.unit_key = moved.unit_key
        {%- endcall -%}
        insert into {{ held }} (initiative_id, kpi_id, unit_id, cohort_key, unit_key, baseline_mean)
        select
            fresh.initiative_id, fresh.kpi_id, fresh.unit_id, fresh.cohort_key, fresh.unit_key,
            fresh.baseline_mean
        from ({{ fresh_baselines() }}) as fresh
        inner join (
            select distinct cohort_key, unit_key from {{ moved }}
        ) as moved
            on fresh.cohort_key = moved.cohort_key
            and fresh.unit_key = moved.unit_key
    {%- else -%}
        {%- call statement('drop_held_baselines') -%}
            drop table if exists {{ held }}
        {%- endcall -%}
        create table {{ held }} as
        {{ fresh_baselines() }}
    {%- endif -%}
{%- endmacro %}

{# SQL condition: a row of int_unit_months_differenced a partition run rewrites (one of its
   months, or a cohort x unit whose baseline moved). #}
{% macro rebuilt_cohort_unit_month(moved) -%}
    (
        observed_month in {{ observation_months_list() }}
        or (cohort_key, unit_key) in (select cohort_key, unit_key from {{ moved }})
    )
{%- endmacro %}

{# Second pre-hook: delete what the partition run rebuilds. #}
{% macro delete_rebuilt_cohort_unit_months() -%}
    {%- if is_partition_run() -%}
        delete from {{ this }} where {{ rebuilt_cohort_unit_month(moved_baselines_relation(this)) }}
    {%- endif -%}
{%- endmacro %}

{# SQL condition: an initiative x KPI (columns initiative_id, kpi_id) with a moved baseline, from
   `moved` (default: the table int_unit_months_differenced's pre-hook wrote this run). #}
{% macro has_moved_baseline(moved=none) -%}
    (initiative_id, kpi_id) in (
        select initiative_id, kpi_id
        from {{ moved if moved is not none else moved_baselines_relation(ref('int_unit_months_differenced')) }}
    )
{%- endmacro %}

{# SQL condition on rows that name their cohort by key alone (int_unit_months_differenced):
   `condition` holds for their cohort's initiative_id and kpi_id. #}
{% macro for_their_cohorts(condition) -%}
    cohort_key in (
        select cohort_key from {{ ref('int_rollout_cohorts_formed') }}
        where {{ condition }}
    )
{%- endmacro %}

{# SQL condition: a decay evaluation a partition run re-tests (int_decay_windows_tested). #}
{% macro rebuilt_decay_evaluation(evaluated_month) -%}
    (
        {{ evaluated_month }} >= {{ observation_months_start() }}
        or {{ has_moved_baseline() }}
    )
{%- endmacro %}

{# Pre-hook of int_decay_windows_tested: delete the evaluations it re-tests. #}
{% macro delete_rebuilt_decay_evaluations() -%}
    {%- if is_partition_run() -%}
        delete from {{ this }} where {{ rebuilt_decay_evaluation('evaluated_month') }}
    {%- endif -%}
{%- endmacro %}

{# The re-processed months as a relation (column observed_month), portable across engines. #}
{% macro observation_months_relation() -%}
    {%- do observation_months_list() -%}
    (
        {%- for month in observation_months() %}
        select cast('{{ month }}' as date) as observed_month
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#
    SQL condition: an event month of int_event_month_variances_summed a partition run rebuilds.
    An event month's influences depend on every cell of that month relative to go-live, and its
    weights are normalised over them: it is rebuilt when one of its cells lies in a re-processed
    month (event month = that month minus the cohort's go-live month, for each cohort of the
    initiative x KPI), and every event month of an initiative x KPI with a moved baseline is.
#}
{% macro rebuilt_event_month(moved) -%}
    (
        (initiative_id, kpi_id, event_month) in (
            select initiative_id, kpi_id, event_month from {{ reached_event_months() }} as reached
        )
        or {{ has_moved_baseline(moved) }}
    )
{%- endmacro %}

{# The initiative x KPI x event months whose cells lie in a re-processed month, as a relation. #}
{% macro reached_event_months() -%}
    (
        select distinct
            cohorts.initiative_id,
            cohorts.kpi_id,
            cast(
                {{ dbt.datediff('cohorts.go_live_month', 'months.observed_month', 'month') }}
                as integer
            ) as event_month
        from {{ ref('int_rollout_cohorts_formed') }} as cohorts
        cross join {{ observation_months_relation() }} as months
    )
{%- endmacro %}

{#
    Pre-hook of int_event_month_variances_summed: delete the rebuilt event months. Two deletes,
    each joined to what it deletes: one delete with the condition above (OR and row-value IN, a
    null-aware mark join over every row) took 3.6 s at 50M observations when the table held
    every unit's rows, these 0.2 s.
#}
{% macro delete_rebuilt_event_month_variances() -%}
    {%- if is_partition_run() -%}
        {%- call statement('delete_moved_event_months') -%}
            delete from {{ this }} as variances
            using (
                select distinct initiative_id, kpi_id
                from {{ moved_baselines_relation(ref('int_unit_months_differenced')) }}
            ) as moved
            where
                variances.initiative_id = moved.initiative_id
                and variances.kpi_id = moved.kpi_id
        {%- endcall -%}
        delete from {{ this }} as variances
        using {{ reached_event_months() }} as reached
        where
            variances.initiative_id = reached.initiative_id
            and variances.kpi_id = reached.kpi_id
            and variances.event_month = reached.event_month
    {%- endif -%}
{%- endmacro %}

{# SQL condition: an initiative x KPI x month a partition run recounts (int_control_units_counted):
   one of its months, or an initiative x KPI with a moved baseline. by_cohort: on rows naming
   their cohort by key. #}
{% macro rebuilt_initiative_month(by_cohort=false) -%}
    (
        observed_month in {{ observation_months_list() }}
        or {{ for_their_cohorts(has_moved_baseline()) if by_cohort else has_moved_baseline() }}
    )
{%- endmacro %}

{# Pre-hook of int_control_units_counted: delete what the partition run recounts. #}
{% macro delete_rebuilt_control_counts() -%}
    {%- if is_partition_run() -%}
        delete from {{ this }} where {{ rebuilt_initiative_month() }}
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of int_baseline_windows_measured: delete the windows the re-processed months reach
   (any day of the window inside the span of the months) and the windows no cohort uses any
   more; the model then measures every window it does not hold. #}
{% macro delete_remeasured_baseline_windows() -%}
    {%- if is_partition_run() -%}
        delete from {{ this }}
        where
            (
                baseline_ends_on >= {{ observation_months_start() }}
                and baseline_starts_on < {{ observation_months_end() }}
            )
            or ({{ baseline_window_key() | join(', ') }}) not in (
                select {{ baseline_window_key() | join(', ') }}
                from {{ ref('int_baseline_units_selected') }}
            )
    {%- endif -%}
{%- endmacro %}

{# SQL condition: an initiative x KPI whose CUPED theta a partition run estimates again
   (int_cuped_thetas_estimated): a cohort's pre-window (months ending by its baseline start)
   holds a re-processed month (the earliest decides), or a baseline of it moved. by_cohort: on
   rows naming their cohort by key. #}
{% macro rebuilt_theta_estimate(by_cohort=false) -%}
    {%- set condition -%}
    (
        (initiative_id, kpi_id) in (
            select initiative_id, kpi_id
            from {{ ref('int_rollout_cohorts_formed') }}
            where cast({{ dbt.dateadd('month', 1, observation_months_start()) }} as date) <= baseline_starts_on
        )
        or {{ has_moved_baseline() }}
    )
    {%- endset -%}
    {{ for_their_cohorts(condition) if by_cohort else condition }}
{%- endmacro %}

{# Pre-hook of int_cuped_thetas_estimated: delete the estimates it makes again. #}
{% macro delete_rebuilt_theta_estimates() -%}
    {%- if is_partition_run() -%}
        delete from {{ this }} where {{ rebuilt_theta_estimate() }}
    {%- endif -%}
{%- endmacro %}

{#
    int_changes_measured_naive on a partition run: the rows of its months, and every month of a
    treated unit whose baseline moved. Its rows hold their baseline (mean and whether it has
    enough observations), so the moved ones are found against the rows themselves. A unit
    without rows has nothing to rewrite: its post rows, if any, lie in the months rebuilt.
#}

{# First pre-hook: record the treated units whose baseline moved. #}
{% macro record_moved_naive_baselines() -%}
    {%- if is_partition_run() -%}
        {%- set moved = moved_baselines_relation(this) -%}
        {%- call statement('drop_moved_naive_baselines') -%}
            drop table if exists {{ moved }}
        {%- endcall -%}
        create table {{ moved }} as
        with fresh as (
            select initiative_id, kpi_id, unit_id, baseline_mean, has_min_observations
            from {{ ref('int_baselines_frozen') }}
            where is_treated
        ),
        held as (
            select distinct initiative_id, kpi_id, unit_id, baseline_mean, has_min_observations
            from {{ this }}
        )
        select distinct held.initiative_id, held.kpi_id, held.unit_id
        from held
        left join fresh
            on held.initiative_id = fresh.initiative_id
            and held.kpi_id = fresh.kpi_id
            and held.unit_id = fresh.unit_id
        where fresh.unit_id is null
            or fresh.has_min_observations <> held.has_min_observations
            or {{ baseline_mean_moved('fresh', 'held') }}
    {%- endif -%}
{%- endmacro %}

{# SQL condition: a row (initiative_id, kpi_id, unit_id, observed_month) of
   int_changes_measured_naive a partition run rewrites (the model selects the two parts
   apart, each with a condition its scan can use). #}
{% macro rebuilt_naive_change() -%}
    (
        observed_month in {{ observation_months_list() }}
        or (initiative_id, kpi_id, unit_id) in (
            select initiative_id, kpi_id, unit_id from {{ moved_baselines_relation(this) }}
        )
    )
{%- endmacro %}

{# Second pre-hook: delete what the partition run rewrites. #}
{% macro delete_rebuilt_naive_changes() -%}
    {%- if is_partition_run() -%}
        delete from {{ this }} where {{ rebuilt_naive_change() }}
    {%- endif -%}
{%- endmacro %}
