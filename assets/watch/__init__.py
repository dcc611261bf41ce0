"""Watches over the marts after each dbt build: alerts when delivered value fades."""
