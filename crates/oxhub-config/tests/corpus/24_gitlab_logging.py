# env: GITLAB_CLIENT_ID=6b1f2e3d4c5a6978 GITLAB_CLIENT_SECRET=gloas-0f9e8d7c6b5a4938
"""Self-hosted GitLab login, API-friendly settings and verbose logging."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = 'gitlab'

gitlab = os.environ.get('GITLAB_URL', 'https://gitlab.example.org')
c.GitLabOAuthenticator.gitlab_url = gitlab
c.GitLabOAuthenticator.client_id = os.environ['GITLAB_CLIENT_ID']
c.GitLabOAuthenticator.client_secret = os.environ['GITLAB_CLIENT_SECRET']
c.GitLabOAuthenticator.oauth_callback_url = 'https://hub.example.org/hub/oauth_callback'
c.GitLabOAuthenticator.scope = ['read_user', 'read_api']
c.GitLabOAuthenticator.allowed_gitlab_groups = {'data-team', 'ml/platform'}
c.GitLabOAuthenticator.allowed_project_ids = {str(n) for n in [42, 4711]}
c.GitLabOAuthenticator.extra_authorize_params = {'prompt': 'consent'}
c.GitLabOAuthenticator.http_request_kwargs = {'proxy_host': 'proxy.example.org', 'proxy_port': 3128}

c.Application.log_level = 10
c.Application.logging_config = {
    'loggers': {'oxhub.auth': {'level': 'DEBUG'}},
}

c.JupyterHub.authenticate_prometheus = False
c.JupyterHub.api_tokens = {}
c.JupyterHub.service_tokens = {
    os.environ.get('MONITOR_TOKEN', 'monitor-token-0123456789abcdef'): 'monitoring',
}
c.JupyterHub.services = [{'name': 'monitoring'}]
c.JupyterHub.load_roles = [{'name': 'metrics', 'scopes': ['read:metrics'], 'services': ['monitoring']}]
