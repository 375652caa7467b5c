# env: HUB_USER_PASSWORD=correct-horse-battery HUB_ADMIN_PASSWORD=admin-0123456789abcdef0123456789abcdef
"""Batch cluster: SlurmSpawner with a shared-password login for a short course."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = 'shared-password'
c.SharedPasswordAuthenticator.user_password = os.environ['HUB_USER_PASSWORD']
c.SharedPasswordAuthenticator.admin_password = os.environ['HUB_ADMIN_PASSWORD']
c.Authenticator.admin_users = {'course-admin'}
c.Authenticator.allow_all = True

c.JupyterHub.spawner_class = 'batchspawner.SlurmSpawner'
c.SlurmSpawner.req_partition = os.environ.get('SLURM_PARTITION', 'interactive')
hours = 4
c.SlurmSpawner.req_runtime = '%d:00:00' % hours
c.SlurmSpawner.req_memory = '8G'
c.SlurmSpawner.batch_script = '''#!/bin/bash
#SBATCH --partition={partition}
#SBATCH --time={runtime}
#SBATCH --mem={memory}
#SBATCH --job-name=jupyterhub-spawner
#SBATCH --output={homedir}/.jupyterhub_slurmspawner_%j.log
set -euo pipefail
{cmd}
'''
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 120
c.Spawner.cmd = 'jupyterhub-singleuser'

# The hub must be reachable from the compute nodes
c.JupyterHub.hub_ip = '0.0.0.0'
c.JupyterHub.hub_connect_ip = 'login01.cluster.example.org'
c.JupyterHub.db_url = 'mysql://jupyterhub@mariadb.cluster.example.org/jupyterhub'
