import os

from django.core.wsgi import get_wsgi_application

from reviewqueue.startup import log_configuration

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
application = get_wsgi_application()
log_configuration()
