"""earshot's own rules for its rendered Kubernetes manifests (the schema check cannot see these).

Usage: k8s_policy.py RENDERED.yaml [EARSHOT_BINARY]
Exits non-zero listing every broken rule. With the binary, every EARSHOT_* variable the manifests set
must be one that `earshot serve --help` lists, so a renamed flag cannot silently stop applying.
"""

import re
import subprocess
import sys

import yaml

WORKLOADS = {"Deployment", "StatefulSet"}


def known_env(binary):
    try:
        text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"k8s-policy: cannot run {binary} serve --help: {e}")
    return set(re.findall(r"env: (EARSHOT_[A-Z0-9_]+)=", text))


def args_accepted(binary, args):
    """Whether the binary's parser accepts the container's arguments (`--help` stops before running)."""
    result = subprocess.run([binary, *args, "--help"], capture_output=True, text=True)
    return result.returncode == 0, result.stderr.strip().splitlines()[:1]


def check(docs, env_names, binary=None):
    problems = []
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    for d in docs:
        if d["kind"] not in WORKLOADS:
            continue
        name = f'{d["kind"]}/{d["metadata"]["name"]}'
        pod = d["spec"]["template"]["spec"]
        earshot = not name.endswith("redis")
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            problems.append(f"{name}: pod must set runAsNonRoot")
        if pod.get("automountServiceAccountToken", True):
            problems.append(f"{name}: automountServiceAccountToken must be false")
        if earshot and pod.get("terminationGracePeriodSeconds", 30) < 40:
            problems.append(f"{name}: terminationGracePeriodSeconds must exceed the 30 s drain")
        for c in pod["containers"]:
            cname = f"{name}/{c['name']}"
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem"):
                problems.append(f"{cname}: readOnlyRootFilesystem must be true")
            if sc.get("allowPrivilegeEscalation", True):
                problems.append(f"{cname}: allowPrivilegeEscalation must be false")
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(kind, {}):
                        problems.append(f"{cname}: resources.{kind}.{r} missing")
            for probe in ("readinessProbe", "livenessProbe") + (("startupProbe",) if earshot else ()):
                if probe not in c:
                    problems.append(f"{cname}: {probe} missing")
            if not earshot:
                continue
            if binary is not None:
                ok, why = args_accepted(binary, c.get("args", []))
                if not ok:
                    problems.append(f"{cname}: earshot rejects args {c.get('args')}: {why}")
            names = [e["name"] for e in c.get("env", [])]
            for ref in c.get("envFrom", []):
                cm = ref.get("configMapRef", {}).get("name")
                if cm not in configmaps:
                    problems.append(f"{cname}: envFrom names ConfigMap {cm!r}, which is not rendered")
                else:
                    names.extend(configmaps[cm])
            if env_names is not None:
                for n in names:
                    if n.startswith("EARSHOT_") and n not in env_names:
                        problems.append(f"{cname}: sets {n}, which `earshot serve` does not read")
    return problems


def main():
    with open(sys.argv[1]) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    binary = sys.argv[2] if len(sys.argv) > 2 else None
    env_names = known_env(binary) if binary else None
    problems = check(docs, env_names, binary)
    for p in problems:
        print(f"k8s-policy: {sys.argv[1]}: {p}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
