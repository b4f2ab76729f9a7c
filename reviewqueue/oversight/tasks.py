from celery import shared_task

from reviewqueue.oversight.compliance import account_refresh
from reviewqueue.oversight.rollups import rollups_refresh
from reviewqueue.oversight.spot_checks import spot_sweep


@shared_task(name="oversight.rollups_refresh", time_limit=600, soft_time_limit=540)
def rollups_refresh_task() -> dict:
    return rollups_refresh()


@shared_task(name="oversight.spot_checks_sweep", time_limit=300, soft_time_limit=270)
def spot_checks_sweep_task() -> dict:
    return spot_sweep()


@shared_task(name="oversight.account_refresh", time_limit=60)
def account_refresh_task() -> str:
    return account_refresh()
