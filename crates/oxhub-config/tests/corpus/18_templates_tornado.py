"""Custom templates, template variables and HTTP headers.

The template directory lives next to this file; pathlib and os.path are both used.
"""
import os
import pathlib

c = get_config()  # noqa: F821

here = os.path.dirname(os.path.abspath('/srv/hub/jupyterhub_config.py'))
c.JupyterHub.template_paths = [os.path.join(here, 'templates')]

static = pathlib.Path('/srv/hub') / 'static'
c.JupyterHub.logo_file = str(static / 'logo.svg')
logo_name = os.path.basename(c.JupyterHub.logo_file)

c.JupyterHub.template_vars = {
    'announcement': 'Maintenance on Saturday 08:00-12:00 UTC.',
    'org_name': 'Example University',
    'support_email': 'jupyter-support@example.org',
    'logo': logo_name,
}

csp = (
    "frame-ancestors 'self' https://lms.example.org; "
    "report-uri /hub/security/csp-report"
)

c['JupyterHub'].update({
    'tornado_settings': {
        'headers': {
            'Content-Security-Policy': csp,
            'X-Frame-Options': 'SAMEORIGIN',
        },
        'cookie_options': {'SameSite': 'None', 'Secure': True},
        'slow_spawn_timeout': 10,
    },
    'jinja_environment_options': {'trim_blocks': True},
})

c.JupyterHub.tornado_settings['headers']['Strict-Transport-Security'] = 'max-age=31536000'
c.JupyterHub.redirect_to_server = False
