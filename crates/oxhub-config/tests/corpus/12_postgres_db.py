# env: POSTGRES_HOST=db.example.org POSTGRES_PASSWORD=s3cr3t-pa55 POSTGRES_DB=jupyterhub
"""Store the hub's state in PostgreSQL instead of sqlite."""
import os

c = get_config()  # noqa: F821

db = {
    'user': os.environ.get('POSTGRES_USER', 'jupyterhub'),
    'password': os.environ['POSTGRES_PASSWORD'],
    'host': os.environ['POSTGRES_HOST'],
    'port': int(os.environ.get('POSTGRES_PORT', '5432')),
    'name': os.environ['POSTGRES_DB'],
}

c.JupyterHub.db_url = 'postgresql://%(user)s:%(password)s@%(host)s:%(port)d/%(name)s' % db

# the same URL built with a tuple, only used for a log line without the password
safe_url = 'postgresql://%s@%s:%d/%s' % (db['user'], db['host'], db['port'], db['name'])
print('using database', safe_url)

c.JupyterHub.db_kwargs = {'pool_size': 10, 'pool_recycle': 3600}
c.JupyterHub.upgrade_db = True
c.JupyterHub.debug_db = False
