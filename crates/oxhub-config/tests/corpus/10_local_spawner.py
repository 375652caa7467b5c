"""LocalProcessSpawner: each user's server is a process running as that user."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'jupyterhub.spawner.LocalProcessSpawner'

c.Spawner.cmd = ['jupyterhub-singleuser']
c.Spawner.args = ['--ServerApp.shutdown_no_activity_timeout=3600']
c.Spawner.args += ['--debug']
c.Spawner.args.extend(['--MappingKernelManager.cull_idle_timeout=1800'])

c.Spawner.notebook_dir = '~/notebooks'
c.Spawner.default_url = '/lab'

c.Spawner.mem_limit = '2G'
c.Spawner.mem_guarantee = '512M'
c.Spawner.cpu_limit = 1.5
c.Spawner.cpu_guarantee = None

c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
c.Spawner.poll_interval = 30

# Create the home directory before the first start, tidy up after stop
c.Spawner.pre_spawn_hook = ['/usr/local/bin/mkhome', '{username}']
c.Spawner.post_stop_hook = ['/usr/local/bin/cleanup-scratch', '{username}', '{servername}']

c.Spawner.environment = {
    'JUPYTER_ENABLE_LAB': 'yes',
    'OMP_NUM_THREADS': '2',
}
c.Spawner.environment['PIP_INDEX_URL'] = 'https://pypi.internal.example.org/simple'
c.Spawner.environment.update({'TZ': os.environ.get('TZ', 'UTC')})
c.Spawner.env_keep = ['PATH', 'PYTHONPATH', 'LANG', 'LC_ALL', 'JUPYTERHUB_SINGLEUSER_APP']

c.LocalProcessSpawner.shell_cmd = ['bash', '-l', '-c']
c.LocalProcessSpawner.interrupt_timeout = 10
c.LocalProcessSpawner.term_timeout = 10
c.LocalProcessSpawner.kill_timeout = 5
