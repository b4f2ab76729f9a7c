from django.core.management.base import BaseCommand

from reviewqueue.oversight.rollups import rollups_rebuild, rollups_refresh


class Command(BaseCommand):
    help = "Roll up decisions for the oversight evidence page: recent days (default) or every day (--rebuild)."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute every day that has decisions")

    def handle(self, *args, rebuild=False, **options):
        result = rollups_rebuild() if rebuild else rollups_refresh()
        self.stdout.write(f"rolled up {result['days']} day(s) into {result['rows']} row(s)")
