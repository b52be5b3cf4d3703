//! The workload every tool runs, written in each tool's own language, and its check:
//! on every host `mkdir -p DIR/HOST`, then M sequential steps `echo step-k >> DIR/HOST/log`.

use std::fmt::Write as _;
use std::path::Path;

/// One fake host as the tools reach it.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    pub address: String,
    pub port: u16,
}

/// What every host's log must hold after a run of `steps` steps.
pub fn expected_log(steps: usize) -> String {
    (1..=steps).fold(String::new(), |mut s, k| {
        let _ = writeln!(s, "step-{k}");
        s
    })
}

/// Checks every host's log under `dir`; returns the first problem.
pub fn verify(dir: &Path, hosts: &[Target], steps: usize) -> Result<(), String> {
    let want = expected_log(steps);
    for h in hosts {
        let path = dir.join(&h.name).join("log");
        let got = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read {}: {e}", h.name, path.display()))?;
        if got != want {
            let lines: Vec<&str> = got.lines().collect();
            return Err(format!(
                "{}: {} holds {} lines, not step-1..step-{steps} in order (first lines: {:?})",
                h.name,
                path.display(),
                lines.len(),
                &lines[..lines.len().min(4)]
            ));
        }
    }
    Ok(())
}

/// The quorate runbook: plain sequential steps on all hosts, as an operator writes them.
pub fn quorate_runbook(dir: &Path, steps: usize) -> String {
    let dir = dir.display();
    let mut s = format!(
        "runbook: bench\non: all\nsteps:\n  - id: mkdir\n    run: mkdir -p {dir}/{{{{host.name}}}}\n"
    );
    for k in 1..=steps {
        let _ = writeln!(
            s,
            "  - id: step-{k}\n    run: echo step-{k} >> {dir}/{{{{host.name}}}}/log"
        );
    }
    s
}

/// The same steps in one `rolling` block of all hosts at once: per host a chain, hosts
/// independent of each other (ansible's `free` strategy, the loops' shape).
pub fn quorate_rolling_runbook(dir: &Path, steps: usize) -> String {
    let dir = dir.display();
    let mut s = format!(
        "runbook: bench\non: all\nsteps:\n  - id: hosts\n    rolling:\n      batch: 100%\n      steps:\n        - id: mkdir\n          run: mkdir -p {dir}/{{{{host.name}}}}\n"
    );
    for k in 1..=steps {
        let _ = writeln!(
            s,
            "        - id: step-{k}\n          run: echo step-{k} >> {dir}/{{{{host.name}}}}/log"
        );
    }
    s
}

/// A POSIX sh script: per host in parallel, one `ssh` client per command, the hosts'
/// chains waited for and their failures counted. `ssh` is the client with its options.
pub fn ssh_loop_script(ssh: &str, mux: bool, dir: &Path, hosts: &[Target], steps: usize) -> String {
    let dir = dir.display();
    let close = if mux {
        "  ssh_ -O exit \"$1\" -p \"$2\" 2>/dev/null\n"
    } else {
        ""
    };
    let mut s = format!(
        "#!/bin/sh\n\
         ssh_() {{ {ssh} \"$@\"; }}\n\
         host() {{\n\
         \x20 ssh_ -p \"$2\" \"root@$1\" \"mkdir -p {dir}/$3\" || return 1\n\
         \x20 k=1\n\
         \x20 while [ \"$k\" -le {steps} ]; do\n\
         \x20   ssh_ -p \"$2\" \"root@$1\" \"echo step-$k >> {dir}/$3/log\" || return 1\n\
         \x20   k=$((k + 1))\n\
         \x20 done\n\
         {close}}}\n\
         pids=\n"
    );
    for h in hosts {
        let _ = writeln!(
            s,
            "host {} {} {} & pids=\"$pids $!\"",
            h.address, h.port, h.name
        );
    }
    s.push_str("failed=0\nfor p in $pids; do wait \"$p\" || failed=$((failed + 1)); done\nexit \"$failed\"\n");
    s
}

/// Ansible's YAML inventory.
pub fn ansible_inventory(hosts: &[Target], python: &str) -> String {
    let mut s = String::from("all:\n  hosts:\n");
    for h in hosts {
        let _ = writeln!(
            s,
            "    {}: {{ ansible_host: {}, ansible_port: {} }}",
            h.name, h.address, h.port
        );
    }
    let _ = writeln!(
        s,
        "  vars:\n    ansible_user: root\n    ansible_python_interpreter: {python}"
    );
    s
}

/// The playbook: `ansible.builtin.shell` tasks, no facts.
pub fn ansible_playbook(dir: &Path, steps: usize, strategy: &str) -> String {
    let dir = dir.display();
    let mut s = format!(
        "- hosts: all\n  gather_facts: false\n  strategy: {strategy}\n  tasks:\n    - ansible.builtin.shell: mkdir -p {dir}/{{{{ inventory_hostname }}}}\n"
    );
    for k in 1..=steps {
        let _ = writeln!(
            s,
            "    - ansible.builtin.shell: echo step-{k} >> {dir}/{{{{ inventory_hostname }}}}/log"
        );
    }
    s
}

/// `ansible.cfg`: forks for every host, pipelining, OpenSSH with `ControlPersist` through
/// the benchmark's client config.
pub fn ansible_cfg(forks: usize, ssh_config: &Path, control_dir: &Path) -> String {
    format!(
        "[defaults]\n\
         forks = {forks}\n\
         gathering = explicit\n\
         host_key_checking = True\n\
         retry_files_enabled = False\n\
         [ssh_connection]\n\
         pipelining = True\n\
         ssh_args = -F {} -o ControlMaster=auto -o ControlPersist=60s\n\
         control_path_dir = {}\n",
        ssh_config.display(),
        control_dir.display()
    )
}

/// pyinfra's inventory (Python): each host with its address, port, key and known hosts.
pub fn pyinfra_inventory(hosts: &[Target], key: &Path, known_hosts: &Path) -> String {
    let mut s = String::from("hosts = [\n");
    for h in hosts {
        let _ = writeln!(
            s,
            "    ({:?}, {{\"ssh_hostname\": {:?}, \"ssh_port\": {}, \"ssh_user\": \"root\", \"ssh_key\": {:?}, \"ssh_known_hosts_file\": {:?}, \"ssh_strict_host_key_checking\": \"yes\"}}),",
            h.name,
            h.address,
            h.port,
            key.display().to_string(),
            known_hosts.display().to_string()
        );
    }
    s.push_str("]\n");
    s
}

/// pyinfra's deploy: `server.shell` operations.
pub fn pyinfra_deploy(dir: &Path, steps: usize) -> String {
    format!(
        "from pyinfra import host\n\
         from pyinfra.operations import server\n\
         \n\
         server.shell(name=\"mkdir\", commands=[\"mkdir -p {dir}/\" + host.name])\n\
         for k in range(1, {steps} + 1):\n\
         \x20   server.shell(name=f\"step-{{k}}\", commands=[f\"echo step-{{k}} >> {dir}/\" + host.name + \"/log\"])\n",
        dir = dir.display()
    )
}
