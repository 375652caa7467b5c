# env: GRADER_API_TOKEN=3e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b
"""External services: an API-only service with a token, and a web service that
uses the hub as its OAuth provider."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.services = [
    {
        'name': 'grader',
        'url': 'http://10.0.1.20:9999',
        'api_token': os.environ['GRADER_API_TOKEN'],
    },
]

# A dashboard that logs users in through the hub (OAuth client)
c.JupyterHub.services.append(
    {
        'name': 'dashboard',
        'url': 'http://127.0.0.1:10101',
        'oauth_client_id': 'service-dashboard',
        'oauth_redirect_uri': 'https://hub.example.org/services/dashboard/oauth_callback',
        'oauth_no_confirm': True,
        'oauth_client_allowed_scopes': ['read:users:name', 'access:servers'],
        'api_token': os.environ.get('DASHBOARD_API_TOKEN', 'dashboard-token-change-me-0123456789'),
        'display': True,
        'info': {'icon': 'fa-chart-line', 'owner': 'research-computing'},
    }
)

c.JupyterHub.load_roles = [
    {'name': 'grader', 'scopes': ['list:users', 'read:users', 'admin:servers'], 'services': ['grader']},
]
c.JupyterHub.load_roles.append({'name': 'dashboard', 'scopes': ['read:users:name'], 'services': ['dashboard']})

c.JupyterHub.service_check_interval = 30
c.JupyterHub.oauth_require_pkce = True
