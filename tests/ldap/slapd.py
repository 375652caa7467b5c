#!/usr/bin/env python3
"""A real OpenLDAP server (slapd) for oxhub's LDAPAuthenticator tests: a small tree, plain LDAP
(with StartTLS) and LDAPS on loopback ports picked at run time, its certificate signed by a CA
made for the run. Needs root (slapd runs as the openldap user), slapd, ldap-utils and openssl.

Tree under dc=example,dc=org: ou=people with alice (cn alice.a, password alicepw) and bob
(cn bob.b, password bobpw); ou=groups with cn=hub-users (groupOfNames, member alice) and cn=staff
(posixGroup, memberUid bob.b).

As a module: `Slapd()` starts one, `.stop()` stops it. From the command line (for the browser
suite): `slapd.py start DIR` prints {"port", "tls_port", "ca", "base", "url"} as JSON and
leaves slapd running; `slapd.py stop DIR` stops it.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from common import free_ports, read_pid, stop_pid, wait_for  # noqa: E402


class Slapd:
    """A real OpenLDAP server with a small tree, plain LDAP (StartTLS) and LDAPS on loopback,
    its certificate signed by a CA made for the run."""

    BASE = "dc=example,dc=org"

    def __init__(self, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="oxhub-slapd-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port, self.tls_port = free_ports(2)
        d = self.dir
        run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, cwd=d)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=oxhub test CA")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
        with open(os.path.join(d, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
        self.ca = os.path.join(d, "ca.pem")
        rootpw = subprocess.run(["slappasswd", "-s", "adminpw"], check=True, capture_output=True, text=True).stdout.strip()
        os.makedirs(os.path.join(d, "db"))
        with open(os.path.join(d, "slapd.conf"), "w") as f:
            f.write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {d}/slapd.pid
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
database mdb
maxsize 104857600
suffix "{self.BASE}"
rootdn "cn=admin,{self.BASE}"
rootpw {rootpw}
directory {d}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
""")
        subprocess.run(["chown", "-R", "openldap:openldap", d], check=True)
        self.url = f"ldap://127.0.0.1:{self.port}"
        subprocess.run(["slapd", "-f", f"{d}/slapd.conf", "-h", f"{self.url}/ ldaps://127.0.0.1:{self.tls_port}/",
                        "-u", "openldap", "-g", "openldap"], check=True)
        ok = wait_for(lambda: subprocess.run(["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base"],
                                             capture_output=True).returncode == 0, 20)
        if not ok:
            raise RuntimeError("slapd did not start")
        people = "ou=people," + self.BASE
        ldif = [f"dn: {self.BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
                f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n",
                f"dn: ou=groups,{self.BASE}\nobjectClass: organizationalUnit\nou: groups\n"]
        for i, (uid, cn) in enumerate([("alice", "alice.a"), ("bob", "bob.b")]):
            pw = subprocess.run(["slappasswd", "-s", f"{uid}pw"], check=True, capture_output=True, text=True).stdout.strip()
            ldif.append(f"dn: uid={uid},{people}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: {uid}\n"
                        f"cn: {cn}\nsn: Tester\nmail: {uid}@example.org\nuidNumber: {30001 + i}\ngidNumber: 30001\n"
                        f"homeDirectory: /home/{uid}\nuserPassword: {pw}\n")
        ldif.append(f"dn: cn=hub-users,ou=groups,{self.BASE}\nobjectClass: groupOfNames\ncn: hub-users\n"
                    f"member: uid=alice,{people}\n")
        ldif.append(f"dn: cn=staff,ou=groups,{self.BASE}\nobjectClass: posixGroup\ncn: staff\ngidNumber: 30010\n"
                    f"memberUid: bob.b\n")
        subprocess.run(["ldapadd", "-x", "-H", self.url, "-D", f"cn=admin,{self.BASE}", "-w", "adminpw"],
                       input="\n".join(ldif), text=True, check=True, capture_output=True)

    def stop(self):
        pid = read_pid(os.path.join(self.dir, "slapd.pid"))
        if pid:  # slapd forks away: once stopped it is a zombie nobody reaps, so wait for not alive()
            stop_pid(pid, timeout=10, kill_after=None)
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    command, directory = sys.argv[1], os.path.abspath(sys.argv[2])
    if command == "start":
        s = Slapd(directory)
        print(json.dumps({"port": s.port, "tls_port": s.tls_port, "ca": s.ca, "base": s.BASE, "url": s.url}))
    elif command == "stop":
        slapd = Slapd.__new__(Slapd)
        slapd.dir = directory
        slapd.stop()
    else:
        sys.exit(f"usage: {sys.argv[0]} start|stop DIR")
