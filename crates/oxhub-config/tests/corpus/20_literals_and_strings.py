"""Every kind of literal and the string operations a config file typically uses."""

c = get_config()  # noqa: F821

# --- strings: raw, triple-quoted, implicit concatenation ---
c.Authenticator.username_pattern = r'^[a-z][a-z0-9\-_]{1,31}$'
c.Spawner.options_form = """
<label for="image">Image</label>
<select name="image">
  <option value="scipy">SciPy</option>
  <option value="r">R</option>
</select>
"""
c.JupyterHub.logo_file = ('/usr/share/jupyterhub/'
                          'static/images/'
                          'logo.png')
c.Application.log_format = '%(color)s[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s]%(end_color)s %(message)s'
c.Application.log_datefmt = '%Y-%m-%d %H:%M:%S'

# --- bytes ---
c.JupyterHub.cookie_secret = (b'\x8f\x12\xa0\x01\x9b\x33\x47\xcd\x5e\x61\x72\x0a\xbb\xfe\x19\x44'
                              b'0123456789abcdef')

# --- numbers, unary minus, arithmetic ---
lowest_port = -1
c.Spawner.port = max(0, lowest_port)
c.JupyterHub.active_user_window = 30 * 60
c.JupyterHub.hub_socket_mode = 0o600
c.Spawner.poll_jitter = 0.25
c.JupyterHub.cookie_max_age_days = 1.5
c.JupyterHub.api_page_default_limit = 100
c.JupyterHub.api_page_max_limit = 4 * c.JupyterHub.api_page_default_limit

# --- bool / None ---
c.JupyterHub.admin_access = False
c.Authenticator.auto_login = False
c.Spawner.hub_connect_url = None

# --- containers, nested ---
c.JupyterHub.trusted_alt_names = ('DNS:hub.internal', 'IP:10.0.0.5')
c.Authenticator.blocked_users = {'root', 'nobody', 'daemon'}
c.Authenticator.admin_users = {'admin'}
c.JupyterHub.template_vars = {
    'links': [('Docs', 'https://docs.example.org'), ('Status', 'https://status.example.org')],
    'limits': {'cpu': 2, 'memory_gb': 4.0, 'gpu': None},
    'tags': {'teaching'},
    'empty': {},
}

# --- string operations ---
user_list = 'Alice; BOB ;carol;'
cleaned = [u.strip().lower() for u in user_list.split(';') if u.strip()]
c.Authenticator.allowed_users = set(cleaned)

banner = ' '.join(['Welcome', 'to', 'the', 'hub'])
rule = '=' * 20
c.JupyterHub.template_vars['banner'] = banner.upper() + '\n' + rule
c.JupyterHub.template_vars['motto'] = 'Data-Science Hub'.replace('-', ' ')

host = 'hub.example.org'
if host.endswith('.org') and not host.startswith('localhost'):
    c.JupyterHub.subdomain_host = 'https://' + host
c.JupyterHub.forwarded_host_header = '{}-{}-{}'.format('X', 'Forwarded', 'Host')
c.JupyterHub.pid_file = '/run/%s.pid' % 'jupyterhub'
c.Spawner.default_url = '/tree/home/{username}'
c.Spawner.args = ['--ServerApp.allow_origin=%s' % ('https://' + host)] + ['--ServerApp.terminals_enabled=False']
