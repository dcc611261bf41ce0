-- Every age, window and run rate is measured at one date: int_as_of_dates_chosen must hold
-- exactly one row with a date. A failure means there is no evidence at all (set var as_of)
-- or the model fans out.
select count(*) as n_rows
from {{ ref('int_as_of_dates_chosen') }}
where as_of_date is not null
having count(*) != 1
