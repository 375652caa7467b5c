//! Table-driven checks of the evaluator: one snippet in, the assignments (as Python reprs) or
//! the error out.

use super::{evaluate, FixedEnv, PathKind};
use crate::error::ErrorKind;
use crate::raw::RawConfig;

fn env() -> FixedEnv {
    FixedEnv::default()
        .with_var("HUB_HOST", "hub.example.org")
        .with_var("ADMINS", "alice, bob,,carol ")
        .with_var("PORT", "8443")
        .with_path("/etc/jupyterhub/ssl.key", PathKind::File)
        .with_path("/srv/data", PathKind::Dir)
}

/// Evaluate `src` and render every assignment as `Class.trait = repr` lines, sorted.
fn run(src: &str) -> Result<String, crate::error::ConfigError> {
    let mut raw = RawConfig::default();
    evaluate("t.py", src, &env(), &mut raw)?;
    Ok(raw
        .iter()
        .map(|(c, n, e)| format!("{c}.{n} = {}", e.value.repr()))
        .collect::<Vec<_>>()
        .join("\n"))
}

#[track_caller]
fn check(src: &str, expect: &str) {
    match run(src) {
        Ok(got) => assert_eq!(got, expect.trim(), "\n--- source ---\n{src}"),
        Err(e) => panic!("unexpected error: {e}\n--- source ---\n{src}"),
    }
}

#[track_caller]
fn check_err(src: &str, kind: ErrorKind, line: u32, col: u32, needle: &str) {
    let e = run(src).expect_err("should fail");
    let at = e.at.clone().expect("location");
    assert_eq!((e.kind, at.line, at.col), (kind, line, col), "{e}");
    assert!(
        e.to_string().contains(needle),
        "{e:?} does not mention {needle:?}"
    );
}

#[test]
fn literals() {
    check(
        r#"
c = get_config()
c.A.s = 'x' "y" r'\d'
c.A.b = b'\x00a'
c.A.i = -5
c.A.f = 1.5
c.A.t = (1,)
c.A.n = None
c.A.d = {'k': [1, {2, 3}], 'j': True}
c.A.e = set()
"#,
        r#"
A.b = b'\x00a'
A.d = {'k': [1, {2, 3}], 'j': True}
A.e = set()
A.f = 1.5
A.i = -5
A.n = None
A.s = 'xy\\d'
A.t = (1,)
"#,
    );
}

#[test]
fn environment_and_strings() {
    check(
        r#"
import os
host = os.environ['HUB_HOST']
c.JupyterHub.bind_url = f"https://{host}:{int(os.environ.get('PORT', '443'))}/"
c.JupyterHub.db_url = 'postgresql://%s:%s@%s/%s' % ('hub', os.getenv('NOPE', 'pw'), host, 'jh')
c.JupyterHub.hub_connect_ip = '{}.{name}'.format('hub', name='internal')
c.Authenticator.admin_users = {a.strip() for a in os.environ['ADMINS'].split(',') if a.strip()}
c.JupyterHub.ip = '0.0.0.0' if 'HUB_HOST' in os.environ else '127.0.0.1'
c.JupyterHub.port = 443 if 'NOT_SET' in os.environ else 8000
c.Spawner.default_url = '/' + 'lab'.upper().lower()
"#,
        r#"
Authenticator.admin_users = {'alice', 'bob', 'carol'}
JupyterHub.bind_url = 'https://hub.example.org:8443/'
JupyterHub.db_url = 'postgresql://hub:pw@hub.example.org/jh'
JupyterHub.hub_connect_ip = 'hub.internal'
JupyterHub.ip = '0.0.0.0'
JupyterHub.port = 8000
Spawner.default_url = '/lab'
"#,
    );
}

#[test]
fn paths() {
    check(
        r#"
import os, pathlib
from pathlib import Path
data = Path('/srv') / 'data'
c.JupyterHub.cookie_secret_file = os.path.join(str(data), 'cookie_secret')
c.JupyterHub.pid_file = os.path.abspath('hub.pid')
c.Spawner.notebook_dir = os.path.expanduser('~/notebooks')
if os.path.exists('/etc/jupyterhub/ssl.key') and os.path.isdir('/srv/data') and not os.path.isfile('/srv/data'):
    c.JupyterHub.ssl_key = '/etc/jupyterhub/ssl.key'
c.JupyterHub.ssl_cert = os.path.dirname('/etc/x/cert.pem') + '/' + os.path.basename('/a/cert.pem')
"#,
        r#"
JupyterHub.cookie_secret_file = '/srv/data/cookie_secret'
JupyterHub.pid_file = '/srv/hub/hub.pid'
JupyterHub.ssl_cert = '/etc/x/cert.pem'
JupyterHub.ssl_key = '/etc/jupyterhub/ssl.key'
Spawner.notebook_dir = '/home/test/notebooks'
"#,
    );
}

#[test]
fn in_place_changes_start_from_the_default() {
    check(
        r#"
c.Spawner.env_keep.append('EXTRA')
c.Spawner.environment['A'] = 'b'
c.Spawner.environment.update({'C': 'd'})
c.Spawner.args += ['--debug']
c.JupyterHub.services.extend([{'name': 's'}])
c['JupyterHub'].update({'port': 1, 'ip': 'x'})
c.JupyterHub.update({'hub_port': 2})
admins = []
for name in ['a', 'b']:
    admins.append(name.upper())
c.Authenticator.admin_users = set(admins)
"#,
        r#"
Authenticator.admin_users = {'A', 'B'}
JupyterHub.hub_port = 2
JupyterHub.ip = 'x'
JupyterHub.port = 1
JupyterHub.services = [{'name': 's'}]
Spawner.args = ['--debug']
Spawner.env_keep = ['JUPYTERHUB_SINGLEUSER_APP', 'EXTRA']
Spawner.environment = {'A': 'b', 'C': 'd'}
"#,
    );
}

#[test]
fn control_flow_and_builtins() {
    check(
        r#"
import json, sys
x, (y, z) = 1, [2, 3]
total = 0
for i in range(10):
    if i % 2 == 0:
        continue
    elif i > 7:
        break
    total += i
else:
    total = -1
c.A.total = total
c.A.misc = [len('abc'), sorted([3, 1, 2]), min(4, 2), max([1, 9]), bool(''), int('42'), float('2.5'), str(7), x + y * z]
c.A.j = json.loads('{"a": [1, 2.5, null]}')
c.A.key = bytes.fromhex('00ff')
c.A.cmp = (1 < 2 <= 2) and not (3 == 4) or False
c.A.d = dict(a=1, **{'b': 2}) if sys.platform.startswith('lin') else None
print('loaded', total)
"#,
        r#"
A.cmp = True
A.d = {'a': 1, 'b': 2}
A.j = {'a': [1, 2.5, None]}
A.key = b'\x00\xff'
A.misc = [3, [1, 2, 3], 2, 9, False, 42, 2.5, '7', 7]
A.total = 16
"#,
    );
}

#[test]
fn plugin_imports_become_class_paths() {
    check(
        r#"
from oauthenticator.github import GitHubOAuthenticator
import kubespawner
c.JupyterHub.authenticator_class = GitHubOAuthenticator
c.JupyterHub.spawner_class = kubespawner.KubeSpawner
"#,
        r#"
JupyterHub.authenticator_class = 'oauthenticator.github.GitHubOAuthenticator'
JupyterHub.spawner_class = 'kubespawner.KubeSpawner'
"#,
    );
}

#[test]
fn refusals_are_located() {
    check_err(
        "c.A.x = 1\ndef hook(s):\n    pass\n",
        ErrorKind::Unsupported,
        2,
        1,
        "def",
    );
    check_err(
        "c.A.x = 1\nclass A(B):\n    pass\n",
        ErrorKind::Unsupported,
        2,
        1,
        "class",
    );
    check_err(
        "c.A.x = 1\nc.A.y = lambda h: 3\n",
        ErrorKind::Unsupported,
        2,
        9,
        "lambda",
    );
    check_err(
        "c.A.x = open('f').read()\n",
        ErrorKind::Unsupported,
        1,
        9,
        "open()",
    );
    check_err("  \nimport yaml\n", ErrorKind::Unsupported, 2, 1, "yaml");
    check_err(
        "with open('x') as f:\n    pass\n",
        ErrorKind::Unsupported,
        1,
        1,
        "with",
    );
    check_err(
        "while True:\n    pass\n",
        ErrorKind::Unsupported,
        1,
        1,
        "while",
    );
    check_err(
        "import os\nc.A.x = os.environ['MISSING']\n",
        ErrorKind::Runtime,
        2,
        9,
        "MISSING",
    );
    check_err(
        "c.A.x = 'a' + 1\n",
        ErrorKind::Runtime,
        1,
        9,
        "unsupported operand",
    );
    check_err("c.A.x = = 1\n", ErrorKind::Syntax, 1, 9, "syntax");
    check_err(
        "c.A.é = 1\nc.A.x = (1 +\n",
        ErrorKind::Syntax,
        2,
        13,
        "syntax",
    );
    check_err(
        "import sys\nsys.exit('no')\n",
        ErrorKind::Runtime,
        2,
        1,
        "sys.exit",
    );
    check_err("x = 'ab' * 100000000\n", ErrorKind::Runtime, 1, 5, "limit");
    check_err(
        "for i in range(10000):\n    for j in range(10000):\n        pass\n",
        ErrorKind::Runtime,
        3,
        9,
        "steps",
    );
}

#[test]
fn nothing_leaks_from_a_refused_file() {
    let mut raw = RawConfig::default();
    let e =
        evaluate("t.py", "c.A.x = 1\nexec('c.A.y = 2')\n", &env(), &mut raw).expect_err("refused");
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.to_string().contains("exec()"), "{e}");
}

#[test]
fn deep_nesting_is_refused_not_crashed() {
    let src = format!("c.A.x = {}1{}\n", "[".repeat(500), "]".repeat(500));
    assert!(run(&src).is_err());
    let src = format!("c.A.x = {}1\n", "-".repeat(5000));
    assert!(run(&src).is_err());
    let src = format!("c.A.x = 1{}\n", " + 1".repeat(5000));
    assert!(run(&src).is_err());
}

#[test]
fn dunder_file_is_the_files_path() {
    let mut raw = RawConfig::default();
    let src = "import os\nhere = os.path.dirname(os.path.abspath(__file__))\nc.JupyterHub.cookie_secret_file = os.path.join(here, 'cookie_secret')\nc.JupyterHub.db_url = 'sqlite:///' + os.path.join(here, 'hub.sqlite')\n";
    super::evaluate_as(
        "cfg/jupyterhub_config.py",
        "/srv/hub/jupyterhub_config.py",
        src,
        &env(),
        &mut raw,
    )
    .expect("evaluates");
    let got: Vec<String> = raw
        .iter()
        .map(|(c, n, e)| format!("{c}.{n} = {}", e.value.repr()))
        .collect();
    assert_eq!(
        got,
        [
            "JupyterHub.cookie_secret_file = '/srv/hub/cookie_secret'",
            "JupyterHub.db_url = 'sqlite:////srv/hub/hub.sqlite'"
        ]
    );
}

#[test]
fn syntax_error_at_end_of_input_is_on_the_last_real_line() {
    // No trailing newline: Python (and so JupyterHub) reports line 2, not line 3.
    let e = run("c = get_config()\nc.JupyterHub.ip = '127.0.0.1").expect_err("unterminated string");
    assert_eq!(e.kind, ErrorKind::Syntax, "{e}");
    assert_eq!(e.at.as_ref().map(|a| a.line), Some(2), "{e}");
    let e = run("c = get_config()\nc.JupyterHub.port = (8000").expect_err("unclosed bracket");
    assert_eq!(e.at.as_ref().map(|a| a.line), Some(2), "{e}");
    let e = run("c = get_config()\nc.JupyterHub.port = (8000\n").expect_err("unclosed bracket");
    assert_eq!(e.at.as_ref().map(|a| a.line), Some(2), "{e}");
}
