//! The batch systems batchspawner 1.3.0 drives with commands and regular expressions, as
//! data: their default script, submit / query / cancel commands, how a job id is read from
//! the submit output and how the query output is classified.

/// A batch system this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Slurm,
    Torque,
    Moab,
    Pbs,
    Lsf,
}

/// How a job id is read from the submit command's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobId {
    /// The whole (trimmed) output.
    Output,
    /// Slurm's `--parsable`: the last line, before any `;cluster`, an integer.
    SlurmParsable,
    /// LSF's `Job <1815> is submitted to default queue <normal>.`
    LsfJobLine,
}

/// One system's defaults; every field can be replaced by its trait.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub class: &'static str,
    pub script: &'static str,
    pub submit: &'static str,
    pub query: &'static str,
    pub cancel: &'static str,
    pub pending_re: &'static str,
    pub running_re: &'static str,
    pub unknown_re: &'static str,
    pub exechost_re: &'static str,
    pub job_id: JobId,
    /// `req_srun`'s default.
    pub srun: &'static str,
    /// Whether `USER`, `HOME` and `SHELL` of the user are added to the job's environment
    /// (batchspawner's `UserEnvMixin`).
    pub user_env: bool,
    /// Pending job ids in queue order (for "position N in the queue"), where the system
    /// can list them.
    pub queue_order: Option<&'static str>,
}

const SLURM_SCRIPT: &str = r#"#!/bin/bash
#SBATCH --output={{homedir}}/jupyterhub_slurmspawner_%j.log
#SBATCH --job-name=spawner-jupyterhub
#SBATCH --chdir={{homedir}}
#SBATCH --export={{keepvars}}
#SBATCH --get-user-env=L
{% if partition  %}#SBATCH --partition={{partition}}
{% endif %}{% if runtime    %}#SBATCH --time={{runtime}}
{% endif %}{% if memory     %}#SBATCH --mem={{memory}}
{% endif %}{% if gres       %}#SBATCH --gres={{gres}}
{% endif %}{% if nprocs     %}#SBATCH --cpus-per-task={{nprocs}}
{% endif %}{% if reservation%}#SBATCH --reservation={{reservation}}
{% endif %}{% if options    %}#SBATCH {{options}}{% endif %}

set -euo pipefail

trap 'echo SIGTERM received' TERM
{{prologue}}
{% if srun %}{{srun}} {% endif %}{{cmd}}
echo "jupyterhub-singleuser ended gracefully"
{{epilogue}}
"#;

const TORQUE_SCRIPT: &str = "#!/bin/sh
#PBS -q {queue}@{host}
#PBS -l walltime={runtime}
#PBS -l nodes=1:ppn={nprocs}
#PBS -l mem={memory}
#PBS -N jupyterhub-singleuser
#PBS -v {keepvars}
#PBS {options}

set -eu

{prologue}
{cmd}
{epilogue}
";

const PBS_SCRIPT: &str = "#!/bin/sh
{% if queue or host %}#PBS -q {% if queue  %}{{queue}}{% endif %}\
{% if host %}@{{host}}{% endif %}{% endif %}
#PBS -l walltime={{runtime}}
#PBS -l select=1:ncpus={{nprocs}}:mem={{memory}}
#PBS -N jupyterhub-singleuser
#PBS -o {{homedir}}/.jupyterhub.pbs.out
#PBS -e {{homedir}}/.jupyterhub.pbs.err
#PBS -v {{keepvars}}
{% if options %}#PBS {{options}}{% endif %}

set -eu

{{prologue}}
{{cmd}}
{{epilogue}}
";

const LSF_SCRIPT: &str = r#"#!/bin/sh
#BSUB -R "select[type==any]"    # Allow spawning on non-uniform hardware
#BSUB -R "span[hosts=1]"        # Only spawn job on one server
#BSUB -q {queue}
#BSUB -J spawner-jupyterhub
#BSUB -o {homedir}/.jupyterhub.lsf.out
#BSUB -e {homedir}/.jupyterhub.lsf.err

set -eu

{prologue}
{cmd}
{epilogue}
"#;

impl System {
    /// The system of a spawner class name.
    pub fn of_class(class: &str) -> Option<System> {
        Some(match class {
            "SlurmSpawner" => System::Slurm,
            "TorqueSpawner" => System::Torque,
            "MoabSpawner" => System::Moab,
            "PBSSpawner" => System::Pbs,
            "LsfSpawner" => System::Lsf,
            _ => return None,
        })
    }

    pub fn preset(self) -> Preset {
        let torque = Preset {
            class: "TorqueSpawner",
            script: TORQUE_SCRIPT,
            submit: "qsub",
            query: "qstat -x {job_id}",
            cancel: "qdel {job_id}",
            pending_re: r"<job_state>[QH]</job_state>",
            running_re: r"<job_state>R</job_state>",
            unknown_re: "",
            exechost_re: r"<exec_host>((?:[\w_-]+\.?)+)/\d+",
            job_id: JobId::Output,
            srun: "",
            user_env: false,
            queue_order: None,
        };
        match self {
            System::Slurm => Preset {
                class: "SlurmSpawner",
                script: SLURM_SCRIPT,
                submit: "sbatch --parsable",
                query: "squeue -h -j {job_id} -o '%T %B'",
                cancel: "scancel {job_id}",
                pending_re: r"^(?:PENDING|CONFIGURING)",
                running_re: r"^(?:RUNNING|COMPLETING)",
                unknown_re: r"^slurm_load_jobs error: (?:Socket timed out on send/recv|Unable to contact slurm controller)",
                exechost_re: r"\s+((?:[\w_-]+\.?)+)$",
                job_id: JobId::SlurmParsable,
                srun: "srun",
                user_env: true,
                queue_order: Some("squeue -h -t PENDING -o %i --sort=-p,i"),
            },
            System::Torque => torque,
            System::Moab => Preset {
                class: "MoabSpawner",
                submit: "msub",
                query: "mdiag -j {job_id} --xml",
                cancel: "mjobctl -c {job_id}",
                pending_re: r#"State="Idle""#,
                running_re: r#"State="Running""#,
                exechost_re: r#"AllocNodeList="([^\r\n\t\f :"]*)"#,
                ..torque
            },
            System::Pbs => Preset {
                class: "PBSSpawner",
                script: PBS_SCRIPT,
                query: "qstat -fx {job_id}",
                pending_re: r"job_state = [QH]",
                running_re: r"job_state = R",
                exechost_re: r"exec_host = ([\w_-]+)/",
                ..torque
            },
            // batchspawner parses LSF's output by splitting; the same rules as regexes.
            System::Lsf => Preset {
                class: "LsfSpawner",
                script: LSF_SCRIPT,
                submit: "bsub",
                query: r#"bjobs -a -noheader -o "STAT EXEC_HOST" {job_id}"#,
                cancel: "bkill {job_id}",
                pending_re: r"^(?i:PEND|PUSP)(?: |$)",
                running_re: r"^(?i:RUN)(?: |$)",
                unknown_re: "",
                exechost_re: r"^\S* \s*([^:\s]+)",
                job_id: JobId::LsfJobLine,
                srun: "",
                user_env: false,
                queue_order: None,
            },
        }
    }
}

impl JobId {
    /// The job id in a submit command's output, if there is one.
    pub fn parse(self, output: &str) -> Option<String> {
        let id = match self {
            JobId::Output => output.trim().to_owned(),
            JobId::SlurmParsable => {
                let last = output.lines().last()?.trim();
                let id = last.split(';').next()?.trim();
                id.parse::<u64>().ok()?;
                id.to_owned()
            }
            JobId::LsfJobLine => output
                .split(' ')
                .nth(1)?
                .trim_matches(['<', '>'])
                .to_owned(),
        };
        (!id.is_empty()).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_as_batchspawner_reads_them() {
        assert_eq!(
            JobId::SlurmParsable.parse("1234\n").as_deref(),
            Some("1234")
        );
        assert_eq!(
            JobId::SlurmParsable
                .parse("warning: x\n1234;hubtest")
                .as_deref(),
            Some("1234")
        );
        assert_eq!(JobId::SlurmParsable.parse("sbatch: error: x"), None);
        assert_eq!(JobId::SlurmParsable.parse(""), None);
        assert_eq!(
            JobId::LsfJobLine
                .parse("Job <1815> is submitted to default queue <normal>.")
                .as_deref(),
            Some("1815")
        );
        assert_eq!(
            JobId::Output.parse(" 42.server \n").as_deref(),
            Some("42.server")
        );
    }

    #[test]
    fn every_preset_regex_compiles() {
        for s in [
            System::Slurm,
            System::Torque,
            System::Moab,
            System::Pbs,
            System::Lsf,
        ] {
            let p = s.preset();
            assert_eq!(System::of_class(p.class), Some(s));
            for re in [p.pending_re, p.running_re, p.unknown_re, p.exechost_re] {
                regex_lite::Regex::new(re).unwrap();
            }
        }
    }
}
