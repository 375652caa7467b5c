# expect: 9:1 unsupported yaml
"""Settings kept in a YAML file."""
import os

c = get_config()  # noqa: F821
c.JupyterHub.port = 8000
c.JupyterHub.hub_ip = '0.0.0.0'

import yaml

settings = yaml.safe_load(os.environ.get('HUB_SETTINGS', '{}'))
