"""smoke-train's GPU selection, as pure functions over recorded nvidia facts.

GPU lists come from the real nvidia-smi captures in tests/fixtures/nvidia-smi/ (see its README),
parsed with envcheck.facts.nvsmi exactly as the nvidia collector's fallback does. Each capture holds one
GPU, so FOUR_GPU_BOX is hand-assembled: four real rows (H100, RTX 4080 SUPER, RTX 2080 SUPER, H200
with their real names, PCI bus ids and capabilities), numbered 0-3 in PCI bus order as nvidia-smi
numbers them, with the captures' all-zero masked UUIDs replaced by distinct masked ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from envcheck.facts import nvsmi
from envcheck.core.errors import UserError
from envcheck.smoke.selection import detect_job, job_note, parse_gpu_list, plan_devices

CAPTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import fake_nvidia_smi  # noqa: E402


def _capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def _gpu_row(name: str) -> dict:
    [gpu] = nvsmi.parse_gpus(fake_nvidia_smi.section(_capture(name), "load :: query-gpu"), fields=None)
    return gpu


def _four_gpu_box() -> list[dict]:
    rows = [
        _gpu_row("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt"),
        _gpu_row("linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt"),
        _gpu_row("linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt"),
        _gpu_row("linux-x86_64__nvidia-h200__590.48.01.txt"),
    ]
    rows.sort(key=lambda g: g["pci_bus_id"])
    for index, gpu in enumerate(rows):
        gpu["index"] = index
        gpu["uuid"] = f"GPU-{index:08d}-0000-0000-0000-00000000000{index}"
    return rows


FOUR_GPU_BOX = _four_gpu_box()


def plan(gpu=None, gpus=None, cpu=False, nproc=None, nvidia=FOUR_GPU_BOX, error=None, visible=None):
    return plan_devices(gpu=gpu, gpus=gpus, cpu=cpu, nproc=nproc, nvidia_gpus=nvidia, nvidia_error=error, visible_raw=visible)


def test_box_is_in_pci_order_with_real_names():
    assert [g["name"] for g in FOUR_GPU_BOX] == [
        "NVIDIA H100 80GB HBM3", "NVIDIA GeForce RTX 4080 SUPER", "NVIDIA GeForce RTX 2080 SUPER", "NVIDIA H200",
    ]
    assert [g["compute_capability"] for g in FOUR_GPU_BOX] == ["9.0", "8.9", "7.5", "9.0"]


def test_gpu_n_pins_the_child_to_that_gpus_uuid_in_pci_order():
    p = plan(gpu=2)
    assert p.kind == "cuda" and p.physical == [2] and p.device == "cuda:0"
    assert p.child_env == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": FOUR_GPU_BOX[2]["uuid"]}
    assert p.nproc == 1
    assert "RTX 2080 SUPER" in p.describe()


def test_default_is_gpu_0_when_there_is_a_gpu():
    p = plan()
    assert p.physical == [0] and p.child_env["CUDA_VISIBLE_DEVICES"] == FOUR_GPU_BOX[0]["uuid"]
    assert not p.notes


def test_default_is_cpu_with_a_note_when_no_gpu():
    p = plan(nvidia=[], error="NVML: driver not loaded")
    assert p.kind == "cpu" and p.device == "cpu"
    assert p.child_env == {"CUDA_VISIBLE_DEVICES": ""}
    assert any("No NVIDIA GPU" in n and "driver not loaded" in n for n in p.notes)


def test_gpu_flag_without_any_gpu_suggests_cpu():
    with pytest.raises(UserError) as err:
        plan(gpu=0, nvidia=None, error="nvidia-smi: not found")
    assert "--cpu" in str(err.value) and "not found" in str(err.value)


def test_missing_gpu_index_lists_the_gpus_that_exist():
    with pytest.raises(UserError) as err:
        plan(gpu=7)
    message = str(err.value)
    assert "GPU 7 does not exist" in message
    for gpu in FOUR_GPU_BOX:
        assert f"{gpu['index']} ({gpu['name']})" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "visible, gpu, shown",
    [
        ("1,3", 0, [1, 3]),  # integer list
        (FOUR_GPU_BOX[3]["uuid"], 1, [3]),  # full UUID
        ("GPU-00000002", 0, [2]),  # UUID prefix, as NVIDIA allows
        ("2,-1,0", 0, [2]),  # an invalid entry hides itself and what follows
    ],
)
def test_gpu_hidden_by_users_cuda_visible_devices_is_refused_listing_visible_ones(visible, gpu, shown):
    with pytest.raises(UserError) as err:
        plan(gpu=gpu, visible=visible)
    message = str(err.value)
    assert f"GPU {gpu} is hidden" in message
    for index in shown:
        assert f"{index} ({FOUR_GPU_BOX[index]['name']})" in message
    hidden_others = {0, 1, 2, 3} - set(shown)
    for index in hidden_others:
        assert f"{index} ({FOUR_GPU_BOX[index]['name']})" not in message
    assert "env -u CUDA_VISIBLE_DEVICES" in message


def test_empty_cuda_visible_devices_hides_everything():
    with pytest.raises(UserError) as err:
        plan(gpu=0, visible="")
    assert "hides every GPU" in str(err.value)
    p = plan(visible="")  # no flag: the user hid the GPUs on purpose, so check the CPU
    assert p.kind == "cpu" and any("hides every GPU" in n for n in p.notes)


def test_visible_gpu_is_still_named_by_its_physical_number():
    # CUDA_VISIBLE_DEVICES=3,1 makes GPU 1 cuda:1 for the user, but --gpu 1 still means nvidia-smi's GPU 1.
    p = plan(gpu=1, visible="3,1")
    assert p.physical == [1]
    assert p.child_env["CUDA_VISIBLE_DEVICES"] == FOUR_GPU_BOX[1]["uuid"]


def test_no_flag_uses_first_gpu_users_cuda_visible_devices_lists():
    p = plan(visible="2,0")
    assert p.physical == [2]
    assert any("first one CUDA_VISIBLE_DEVICES" in n for n in p.notes)


def test_several_gpus_give_one_ddp_process_each_in_the_order_given():
    p = plan(gpus="3,1")
    assert p.physical == [3, 1] and p.nproc == 2
    assert p.child_env["CUDA_VISIBLE_DEVICES"] == f"{FOUR_GPU_BOX[3]['uuid']},{FOUR_GPU_BOX[1]['uuid']}"
    with pytest.raises(UserError) as err:
        plan(gpus="0,1", nproc=4)
    assert "--nproc 4" in str(err.value)


def test_one_gpu_in_gpus_skips_ddp_with_a_note():
    p = plan(gpus="2")
    assert p.nproc == 1 and any("DDP" in n for n in p.notes)


@pytest.mark.parametrize("text, message", [("0,,1", "give nvidia-smi GPU numbers"), ("a", "give nvidia-smi GPU numbers"),
                                           ("0,1,1", "lists a GPU twice"), ("-1", "give nvidia-smi GPU numbers")])
def test_bad_gpu_lists_are_refused(text, message):
    with pytest.raises(UserError, match=message):
        parse_gpu_list(text)


def test_conflicting_flags_are_refused():
    # Each for the conflict itself: any other UserError (say, about GPU 1) must not pass for it.
    for kwargs, message in (({"gpu": 0, "cpu": True}, "--cpu cannot be combined"),
                            ({"gpus": "0,1", "cpu": True}, "--cpu cannot be combined"),
                            ({"gpu": 0, "gpus": "1"}, "--gpu and --gpus cannot be used together")):
        with pytest.raises(UserError, match=message):
            plan(**kwargs)


def test_cpu_plan_takes_nproc_for_gloo():
    p = plan(cpu=True, nproc=2)
    assert p.kind == "cpu" and p.nproc == 2 and p.child_env == {"CUDA_VISIBLE_DEVICES": ""}


def test_mig_gpu_needs_a_mig_instance():
    gpu = _gpu_row("linux-x86_64__nvidia-h100-mig__590.48.01.txt")
    gpu["mig_devices"] = nvsmi.parse_list(fake_nvidia_smi.section(_capture("linux-x86_64__nvidia-h100-mig__590.48.01.txt"), "capabilities :: list"))[0]["mig_devices"]
    with pytest.raises(UserError) as err:
        plan(gpu=0, nvidia=[gpu])
    assert "MIG mode" in str(err.value) and "MIG-<uuid>" in str(err.value)
    mig = gpu["mig_devices"][1]["uuid"]
    p = plan(gpu=0, nvidia=[gpu], visible=mig)
    assert p.child_env["CUDA_VISIBLE_DEVICES"] == mig


def test_gpu_without_uuid_falls_back_to_pci_ordered_index():
    gpus = [dict(FOUR_GPU_BOX[0], uuid=None), dict(FOUR_GPU_BOX[1])]
    p = plan(gpu=0, nvidia=gpus)
    assert p.child_env == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0"}


def test_detect_job_torchrun_slurm_and_alone():
    assert detect_job({}) is None
    assert detect_job({"RANK": "0", "WORLD_SIZE": "1"}) is None
    job = detect_job({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.5", "MASTER_PORT": "1234",
                      "SLURM_PROCID": "7", "SLURM_NTASKS": "8"})
    assert (job.source, job.rank, job.world_size, job.local_rank) == ("torchrun", 1, 4, 1)
    assert job.env["MASTER_ADDR"] == "10.0.0.5"
    job = detect_job({"SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1", "SLURM_NNODES": "1", "SLURM_JOB_ID": "12345",
                      "SLURM_STEP_ID": "0"})
    assert (job.source, job.rank, job.world_size, job.local_rank) == ("slurm", 3, 4, 1)
    assert job.env["MASTER_ADDR"] == "127.0.0.1" and job.env["MASTER_PORT"] == str(29500 + 345)
    with pytest.raises(UserError) as err:
        detect_job({"SLURM_PROCID": "0", "SLURM_NTASKS": "8", "SLURM_NNODES": "2", "SLURM_STEPID": "3"})
    assert "MASTER_ADDR" in str(err.value)


# What sbatch's batch script sees (slurmd sets the job's variables, srun has not run yet): the
# job's task count and SLURM_PROCID=0, but no step id, or the batch step's.
BATCH_SCRIPT = {"SLURM_JOB_ID": "4242", "SLURM_NTASKS": "4", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NNODES": "1"}


@pytest.mark.parametrize("step", [None, "batch", "extern", "4294967294"])
def test_sbatch_batch_script_runs_alone_with_a_note_to_use_srun(step):
    env = dict(BATCH_SCRIPT)
    if step is not None:
        env["SLURM_STEP_ID"] = step
    assert detect_job(env) is None
    note = job_note(env)
    assert note is not None and "run it under srun to check DDP across the job's tasks" in note and "4 tasks" in note


@pytest.mark.parametrize("variable", ["SLURM_STEP_ID", "SLURM_STEPID"])
def test_srun_task_is_a_job_rank(variable):
    env = dict(BATCH_SCRIPT, SLURM_PROCID="2", SLURM_LOCALID="2", **{variable: "0"})
    job = detect_job(env)
    assert job is not None and (job.source, job.rank, job.world_size) == ("slurm", 2, 4)
    assert job_note(env) is None


def test_no_note_outside_slurm_or_for_a_single_task_job():
    assert job_note({}) is None
    assert job_note({"SLURM_JOB_ID": "1", "SLURM_NTASKS": "1", "SLURM_PROCID": "0"}) is None
