from celery import shared_task

from reviewqueue.oversight.rollups import rollups_refresh


@shared_task(name="oversight.rollups_refresh", time_limit=600, soft_time_limit=540)
def rollups_refresh_task() -> dict:
    return rollups_refresh()
