"""The Setup wizard driven by keys: single-GPU, multi-GPU, multi-node and no-GPU machines
(NVML faked at the pynvml boundary, and the real no-driver path), inline validation, files
accelerate's own loader reads, the memory advisor, storage, credentials and resuming."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pynvml
import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Select, Static, TabbedContent, Tabs

import magitui.screens.setup.screen as setup_screen_code
from magitui.app import MagituiApp
from magitui.screens.setup.distributed import DistributedStep, control_id
from magitui.screens.setup.memory import AdvisorResult, MemoryStep
from magitui.screens.setup.screen import SetupScreen
from magitui_core.config import load_config
from magitui_core.machine.disks import DiskInfo, DiskReport, disk_warnings
from magitui_core.training.accelerate_config import ANSWERS_FILE, load_answers
from magitui_core.training.memory_advisor import ModelShape, plans, recommend
from magitui_core.workspace import Workspace
from tests.monitor.fake_nvml import FakeNvml
from tests.setup.loopback_hub import loopback_hub
from tests.ui.frozen_setup import fixed_sources
from tests.ui.pilot_helpers import drive, notifications, screen_text, settle, wait_until

GIB = 1024**3
LLAMA_7B = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
    "tie_word_embeddings": False,
}


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    # No network here: the token check must say so without trying.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def run_dir() -> Path:
    """A run in the test's workspace: the folder the wizard writes into by default."""
    return Workspace(Path(os.environ["MAGITUI_HOME"])).ensure().create_run("llama-oss-1").path


def fake_gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """NVML answering with the first ``count`` of: H100 (cc 9.0), A100 (8.0), L4 (7.5)."""
    FakeNvml([os.getpid(), os.getpid()]).install(monkeypatch)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: count)


def nvml_works() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


def load_with_accelerate(path: Path):  # type: ignore[no-untyped-def]
    from accelerate.commands.config.config_args import load_config_from_file

    return load_config_from_file(str(path))


# ---- driving the wizard ---------------------------------------------------------------------
def wizard(pilot: Pilot[None]) -> SetupScreen:
    screen = pilot.app.screen
    assert isinstance(screen, SetupScreen), screen
    return screen


async def open_setup(pilot: Pilot[None]) -> SetupScreen:
    await pilot.press("s")
    await settle(pilot)
    screen = wizard(pilot)
    await wait_until(pilot, lambda: screen.machine is not None, "the machine facts")
    await settle(pilot)
    return screen


def control(pilot: Pilot[None], name: str):  # type: ignore[no-untyped-def]
    return pilot.app.screen.query_one(f"#{control_id(name)}")


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    """Focus an input, clear it with keys and type ``text`` as a user would."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *(text if text else []))
    await settle(pilot)


async def answer(pilot: Pilot[None], name: str, text: str) -> None:
    await type_into(pilot, f"#{control_id(name)}", text)


async def choose(pilot: Pilot[None], name: str, value: object) -> None:
    """Pick an option of a Select with the keyboard: open, arrow to it, enter."""
    select = control(pilot, name)
    assert isinstance(select, Select)
    select.focus()
    await pilot.press("enter")
    await settle(pilot)
    options = [v for _label, v in select._options]
    current = options.index(select.value)
    target = options.index(value)
    key = "down" if target > current else "up"
    await pilot.press(*([key] * abs(target - current)), "enter")
    await settle(pilot)
    assert select.value == value


async def step(pilot: Pilot[None], number: int) -> None:
    # Digits go to an input when one has focus: from the step tabs, as a user would.
    pilot.app.screen.query_one(Tabs).focus()
    await pilot.press(str(number))
    await settle(pilot)


async def write(pilot: Pilot[None]) -> None:
    await step(pilot, 5)
    await pilot.click("#review-write")
    await settle(pilot)


async def estimated(pilot: Pilot[None], *keys: str) -> AdvisorResult | None:
    """Press ``keys`` (enter in an advisor input, or a new optimizer) and wait for the new
    estimate."""
    memory = pilot.app.screen.query_one(MemoryStep)
    memory.result = None
    await pilot.press(*keys)
    await wait_until(pilot, lambda: memory.result is not None, "the estimate")
    await settle(pilot)
    return memory.result


def form(pilot: Pilot[None]) -> DistributedStep:
    return pilot.app.screen.query_one(DistributedStep)


def problems(pilot: Pilot[None]) -> list[str]:
    """The form's problems, checking that the first is on screen: on the problems line docked
    under the form, in view however far the form is scrolled."""
    found = form(pilot).problems
    if found:
        shown = str(pilot.app.screen.query_one("#dist-problem-line").render())
        assert shown.startswith(f"✗ {found[0].line}")
        line = pilot.app.screen.query_one("#dist-problem-line")
        assert line.display and 0 < line.region.bottom < pilot.app.size.height  # in view
    return [p.message for p in found]


# ---- machines -------------------------------------------------------------------------------
def test_real_no_driver_path_defaults_to_cpu(run_dir: Path) -> None:
    if nvml_works():
        pytest.skip("this machine has an NVIDIA driver")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        assert "No NVIDIA GPU found" in screen_text(pilot.app)
        await step(pilot, 3)
        assert control(pilot, "gpus").value == "0"
        assert control(pilot, "mixed_precision").value == "no"
        await write(pilot)
        config = load_with_accelerate(run_dir / "accelerate.yaml")
        assert config.num_processes == 1
        assert config.distributed_type.value == "DEEPSPEED"
        assert load_answers(run_dir) == form(pilot).settings
        # No GPU to size against: the advisor asks for the target GPU's memory.
        await step(pilot, 4)
        assert pilot.app.screen.query_one("#mem-gpu", Input).value == ""
        await type_into(pilot, "#mem-params", "7B")
        await pilot.press("enter")
        assert "GPU memory is empty — no GPU here" in screen_text(pilot.app)

    drive(MagituiApp(), scenario)


def test_steps_by_keyboard_at_80x24() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_setup(pilot)
        tabs = screen.query_one(TabbedContent)
        seen = [tabs.active]
        for _ in range(5):
            await pilot.press("ctrl+n")
            seen.append(tabs.active)
        assert seen == ["storage", "credentials", "distributed", "memory", "review", "storage"]
        await pilot.press("ctrl+pageup")
        assert tabs.active == "review"
        await step(pilot, 3)
        # From the step tabs: the scrolling form (arrows scroll the preview), then the answers.
        await pilot.press("tab", "tab")
        assert pilot.app.focused is control(pilot, "num_machines")
        await pilot.press("ctrl+n")  # works from inside an input too
        assert tabs.active == "memory"
        assert "Memory" in screen_text(pilot.app) and "Estimate" in screen_text(pilot.app)

    drive(MagituiApp(), scenario)


def test_single_gpu_with_bf16(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpus(monkeypatch, 1)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        assert "1 × NVIDIA H100 80GB HBM3" in screen_text(pilot.app)
        await step(pilot, 3)
        assert control(pilot, "gpus").value == "1"
        assert control(pilot, "mixed_precision").value == "bf16"
        await write(pilot)
        assert "Wrote" in screen_text(pilot.app)
        config = load_with_accelerate(run_dir / "accelerate.yaml")
        assert (config.distributed_type.value, config.num_processes) == ("DEEPSPEED", 1)
        assert config.gpu_ids == "all"
        ds_file = Path(config.deepspeed_config["deepspeed_config_file"])
        assert ds_file == (run_dir / "deepspeed.json").resolve()
        assert json.loads(ds_file.read_text())["zero_optimization"]["stage"] == 2

    drive(MagituiApp(), scenario)


def test_accumulation_follows_the_recipe_until_the_user_sets_it(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setup's answers plus `magitui train` with no options make the paper's global batch of
    512 (2 per device): the accumulation follows the GPU and machine counts, until typed."""
    fake_gpus(monkeypatch, 2)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        assert (control(pilot, "gpus").value, control(pilot, "grad_accum").value) == ("2", "128")
        await answer(pilot, "gpus", "4")
        assert control(pilot, "grad_accum").value == "64"
        await answer(pilot, "num_machines", "2")
        assert control(pilot, "grad_accum").value == "32"
        await answer(pilot, "num_machines", "1")
        await answer(pilot, "grad_accum", "16")  # the user's own choice stays
        await answer(pilot, "gpus", "8")
        assert control(pilot, "grad_accum").value == "16"

    drive(MagituiApp(), scenario)


def test_multi_gpu_zero3_without_bf16(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpus(monkeypatch, 3)  # the L4 has no bfloat16

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        assert "no bf16" in screen_text(pilot.app)
        await step(pilot, 3)
        assert control(pilot, "gpus").value == "3"
        assert control(pilot, "mixed_precision").value == "fp16"
        zero3_row = pilot.app.screen.query_one(f"#row-{control_id('zero3_save_16bit')}")
        assert not zero3_row.display  # ZeRO-3 questions appear only for stage 3
        await choose(pilot, "zero_stage", 3)
        assert zero3_row.display
        assert control(pilot, "zero3_save_16bit").value is True
        await choose(pilot, "offload_optimizer", "cpu")
        await choose(pilot, "offload_params", "cpu")
        preview = str(pilot.app.screen.query_one("#preview-json").render())
        assert '"stage3_gather_16bit_weights_on_model_save": true' in preview
        await write(pilot)
        config = load_with_accelerate(run_dir / "accelerate.yaml")
        assert config.num_processes == 3
        assert config.deepspeed_config["zero3_init_flag"] is True
        zero = json.loads((run_dir / "deepspeed.json").read_text())["zero_optimization"]
        assert zero["stage"] == 3
        assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "cpu"
        assert zero["stage3_gather_16bit_weights_on_model_save"] is True

    drive(MagituiApp(), scenario)


def test_multi_node_answers_checked_inline(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpus(monkeypatch, 2)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        rank_row = pilot.app.screen.query_one(f"#row-{control_id('machine_rank')}")
        launcher_row = pilot.app.screen.query_one(f"#row-{control_id('multinode_launcher')}")
        assert not rank_row.display and not launcher_row.display
        await answer(pilot, "num_machines", "2")
        assert rank_row.display and launcher_row.display  # multi-node with DeepSpeed (default)
        assert "main_process_ip is needed" in screen_text(pilot.app)
        assert form(pilot).settings is None
        await answer(pilot, "main_process_ip", "head-node")
        assert "'head-node' is not an IP address" in screen_text(pilot.app)
        assert control(pilot, "main_process_ip").has_class("-invalid")
        await answer(pilot, "main_process_ip", "10.0.0.2")
        await answer(pilot, "machine_rank", "2")
        assert "machine_rank 2 must be below num_machines 2" in screen_text(pilot.app)
        await answer(pilot, "machine_rank", "1")
        await answer(pilot, "main_process_port", "80")
        assert problems(pilot) == ["main_process_port = 80 — out of range, use 1024–65535"]
        await answer(pilot, "main_process_port", "29600")
        assert form(pilot).problems == []
        assert "✓ Answers valid" in screen_text(pilot.app)
        await choose(pilot, "multinode_launcher", "pdsh")
        assert "deepspeed_multinode_launcher: pdsh" in str(
            pilot.app.screen.query_one("#preview-yaml").render()
        )
        await write(pilot)
        config = load_with_accelerate(run_dir / "accelerate.yaml")
        assert (config.num_machines, config.machine_rank, config.num_processes) == (2, 1, 4)
        assert (config.main_process_ip, config.main_process_port) == ("10.0.0.2", 29600)
        assert config.deepspeed_config["deepspeed_multinode_launcher"] == "pdsh"
        # Without DeepSpeed there is no DeepSpeed launcher to choose: the row goes, the answer
        # stays for when DeepSpeed comes back.
        await step(pilot, 3)
        control(pilot, "use_deepspeed").focus()
        await pilot.press("space")
        await settle(pilot)
        assert rank_row.display and not launcher_row.display
        assert control(pilot, "multinode_launcher").value == "pdsh"

    drive(MagituiApp(), scenario)


def test_problems_line_stays_in_view_at_80x24(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every multi-node question shown the form is taller than the step: the problem
    under edit still shows, named by its label, wherever the form is scrolled."""
    fake_gpus(monkeypatch, 2)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        await answer(pilot, "num_machines", "2")
        await answer(pilot, "main_process_ip", "10.0.0.2")
        await choose(pilot, "zero_stage", 3)  # the ZeRO-3 rows too: the tallest form
        scroll = pilot.app.screen.query_one("#dist-scroll")
        assert scroll.max_scroll_y > 0  # the form does not fit at 80x24
        await answer(pilot, "main_process_port", "70000")
        line = "Main machine port: 70000 — out of range, use 1024–65535"
        assert f"✗ {line}" in screen_text(pilot.app)
        scroll.scroll_end(animate=False)  # down to the preview: the port row goes out of view
        await settle(pilot)
        text = screen_text(pilot.app)
        assert scroll.scroll_y > 0 and "Main machine port   " not in text
        assert '"gradient_clipping": "auto"' in text and f"✗ {line}" in text
        await answer(pilot, "grad_accum", "0")
        text = screen_text(pilot.app)
        # Every problem is listed, not the first with a count.
        assert f"✗ {line}" in text and "✗ Gradient accumulation: 0" in text
        assert control(pilot, "grad_accum").has_class("-invalid")
        await answer(pilot, "main_process_port", "29500")
        assert "✗ Gradient accumulation: 0 — must be greater than or equal to 1" in (
            screen_text(pilot.app)
        )
        await answer(pilot, "grad_accum", "4")
        assert "✓ Answers valid" in screen_text(pilot.app)

    drive(MagituiApp(), scenario, size=(80, 24))


# ---- validation -----------------------------------------------------------------------------
def test_bad_answer_is_named_and_loses_nothing(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(monkeypatch, 2)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        await answer(pilot, "grad_accum", "4")
        await choose(pilot, "zero_stage", 3)
        good = form(pilot).settings
        assert good is not None and good.grad_accum == 4
        assert "zero3_init_flag: true" in str(pilot.app.screen.query_one("#preview-yaml").render())
        await answer(pilot, "gpus", "two")
        await answer(pilot, "grad_clip", "-1")
        text = screen_text(pilot.app)
        assert "✗ GPUs to use here: 'two' — enter a whole number, e.g. 2" in text
        assert form(pilot).settings is None
        # Every other answer is still there as typed.
        assert control(pilot, "grad_accum").value == "4"
        assert control(pilot, "zero_stage").value == 3
        await write(pilot)
        assert "Nothing written — fix step 3 first: gpus = 'two'" in screen_text(pilot.app)
        assert not (run_dir / "accelerate.yaml").exists()
        await step(pilot, 3)
        await answer(pilot, "gpus", "2")
        assert problems(pilot) == ["grad_clip = -1.0 — must be greater than 0"]
        await answer(pilot, "grad_clip", "1.0")
        await write(pilot)
        saved = load_answers(run_dir)
        assert saved is not None
        assert (saved.gpus, saved.grad_accum, saved.zero_stage, saved.grad_clip) == (2, 4, 3, 1.0)

    drive(MagituiApp(), scenario)


def test_nvme_offload_needs_an_existing_folder(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(monkeypatch, 1)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        await choose(pilot, "offload_optimizer", "nvme")
        assert problems(pilot) == ["NVMe offload needs nvme_path, a folder on a fast local disk"]
        missing = tmp_path / "no-such-dir"
        await answer(pilot, "nvme_path", str(missing))
        assert problems(pilot) == [
            f"nvme_path = '{missing}' — no such folder; create it or choose another"
        ]
        await answer(pilot, "nvme_path", str(tmp_path))
        assert form(pilot).settings is not None
        assert form(pilot).settings.nvme_path == tmp_path

    drive(MagituiApp(), scenario)


# ---- resuming -------------------------------------------------------------------------------
def test_reopening_loads_the_saved_answers(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpus(monkeypatch, 2)

    async def first(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        await answer(pilot, "grad_accum", "16")
        await choose(pilot, "offload_optimizer", "cpu")
        await pilot.click(f"#{control_id('use_deepspeed')}")  # keyboard and mouse both work
        await settle(pilot)
        await pilot.click(f"#{control_id('use_deepspeed')}")
        await settle(pilot)
        await write(pilot)

    drive(MagituiApp(), first)
    written = load_answers(run_dir)
    assert written is not None and written.grad_accum == 16

    async def second(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        assert any(title == "Resumed" for _, title, _ in notifications(pilot.app))
        assert form(pilot).settings == written
        assert control(pilot, "grad_accum").value == "16"
        assert control(pilot, "offload_optimizer").value == "cpu"

    drive(MagituiApp(), second)


def test_answers_survive_leaving_the_section(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(monkeypatch, 1)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        await answer(pilot, "grad_accum", "7")
        pilot.app.screen.set_focus(None)
        await pilot.press("h")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert control(pilot, "grad_accum").value == "7"

    drive(MagituiApp(), scenario)


# ---- memory advisor -------------------------------------------------------------------------
def test_advisor_reads_config_json_and_applies_its_choice(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(monkeypatch, 2)
    model = tmp_path / "llama-7b"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(LLAMA_7B))

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_setup(pilot)
        await step(pilot, 4)
        memory = pilot.app.screen.query_one(MemoryStep)
        assert pilot.app.screen.query_one("#mem-gpu", Input).value == "80"  # from NVML
        await type_into(pilot, "#mem-model", str(model))
        await pilot.press("enter")
        await wait_until(pilot, lambda: memory.result is not None, "the estimate")
        await settle(pilot)
        result = memory.result
        assert result is not None
        shape = ModelShape.from_config(LLAMA_7B)
        cpu_gib = int(pilot.app.screen.query_one("#mem-cpu", Input).value)
        # The recipe's defaults: 2 per GPU, Adafactor.
        expected = plans(
            shape, 80 * GIB, cpu_gib * GIB, gpus_per_node=2, micro_batch=2, optimizer="adafactor"
        )
        assert result.plans == expected
        assert result.recommended == recommend(expected)
        assert screen.shape == shape
        text = screen_text(pilot.app)
        assert "6.74 B parameters" in text
        assert result.recommended is not None
        assert f"★ {result.recommended.label} is the fastest that fits" in text
        table = pilot.app.screen.query_one("#mem-table", DataTable)
        starred = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert [row.startswith("★") for row in starred] == [
            p == result.recommended for p in expected
        ]
        await pilot.click("#mem-apply")
        await settle(pilot)
        settings = form(pilot).settings
        assert settings is not None
        assert (settings.zero_stage, settings.offload_optimizer, settings.offload_params) == (
            result.recommended.stage,
            result.recommended.offload_optimizer,
            result.recommended.offload_params,
        )

    drive(MagituiApp(), scenario)


def test_advisor_by_parameter_count_and_bad_inputs(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(monkeypatch, 1)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 4)
        memory = pilot.app.screen.query_one(MemoryStep)
        await type_into(pilot, "#mem-model", "")
        await pilot.press("enter")
        assert "base model is empty" in screen_text(pilot.app)
        await type_into(pilot, "#mem-model", "no-such-org/no-such-model")
        await pilot.press("enter")
        await settle(pilot)
        assert "neither a folder nor in the Hugging Face cache" in screen_text(pilot.app)
        await type_into(pilot, "#mem-params", "seven")
        await pilot.press("enter")
        assert "parameters = 'seven' — write e.g. 7B" in screen_text(pilot.app)
        await type_into(pilot, "#mem-params", "70B")
        await pilot.press("enter")
        await wait_until(pilot, lambda: memory.result is not None, "the estimate")
        await settle(pilot)
        assert memory.result is not None and memory.result.shape.parameters == 70 * 10**9
        # 70 B on one 80 GiB GPU with this machine's RAM: nothing fits, and it says so.
        assert memory.result.recommended is None
        assert "nothing fits" in screen_text(pilot.app)

    drive(MagituiApp(), scenario, size=(120, 40))


def test_advisor_optimizer_choice_and_no_offload_for_adafactor(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two 24 GiB GPUs and a 7B model: AdamW only fits with CPU offload, which Adafactor and
    8-bit AdamW cannot use; 4 × 40 GiB: Adafactor's small states fit where AdamW's do not."""
    fake_gpus(monkeypatch, 2)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 4)
        await type_into(pilot, "#mem-gpu", "24")
        await type_into(pilot, "#mem-cpu", "400")
        await type_into(pilot, "#mem-batch", "1")
        await type_into(pilot, "#mem-params", "6.7B")
        assert pilot.app.screen.query_one("#mem-optim", Select).value == "adafactor"  # recipe's
        pilot.app.screen.query_one("#mem-optim", Select).value = "adamw"
        await settle(pilot)
        pilot.app.screen.query_one("#mem-params", Input).focus()
        adamw = await estimated(pilot, "enter")
        assert adamw is not None and adamw.recommended is not None
        assert adamw.recommended.offload_optimizer == "cpu"  # AdamW: offload
        pilot.app.screen.query_one("#mem-optim", Select).focus()
        result = await estimated(pilot, "enter", "down", "enter")  # Adafactor, estimated at once
        assert result is not None and result.request.optimizer == "adafactor"
        table = pilot.app.screen.query_one("#mem-table", DataTable)
        fits = [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
        offloaded = [p.offload_optimizer == "cpu" for p in result.plans]
        assert [f == "crashes CPU Adam" for f in fits] == offloaded
        text = screen_text(pilot.app)
        assert "6.70 B parameters, Adafactor: nothing fits" in text
        assert "No CPU offload with Adafactor" in text
        assert pilot.app.screen.query_one("#mem-apply").disabled
        # Four GPUs, 40 GiB each: AdamW would need ZeRO-3; Adafactor fits in ZeRO-2.
        await step(pilot, 3)
        await answer(pilot, "gpus", "4")
        await step(pilot, 4)
        await type_into(pilot, "#mem-gpu", "40")
        four = await estimated(pilot, "enter")
        assert four is not None and four.recommended is not None
        assert four.recommended.label == "ZeRO-2"
        await pilot.click("#mem-apply")
        await settle(pilot)
        settings = form(pilot).settings
        assert settings is not None and (settings.zero_stage, settings.offload_optimizer) == (
            2,
            "none",
        )
        # The optimizer goes to step 5 too, where preflight judges it.
        assert pilot.app.screen.query_one("#review-optim", Select).value == "adafactor"

    drive(MagituiApp(), scenario, size=(100, 40))


# ---- storage --------------------------------------------------------------------------------
def test_storage_warns_about_nfs_and_applies_hf_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hf_home = Path(os.environ["HF_HOME"])
    big = tmp_path / "big-disk"  # stands for a local NVMe volume mounted there
    big.mkdir()
    disks = [
        DiskInfo("server:/export", "/", "nfs4", 500 * GIB, 100 * GIB, 400 * GIB, ("HF_HOME",)),
        DiskInfo("/dev/nvme0n1", str(big), "ext4", 2000 * GIB, 100 * GIB, 1900 * GIB),
    ]
    report = DiskReport(tuple(disks), tuple(disk_warnings(disks)))
    sources = fixed_sources(home=Path("/nonexistent-home"))
    sources.disks = lambda: report
    monkeypatch.setattr(setup_screen_code, "default_sources", lambda ctx: sources)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        text = screen_text(pilot.app)
        assert "HF_HOME is on nfs4" in text
        assert f"HF_HOME   {hf_home}" in text
        suggested = big / "huggingface"
        field = pilot.app.screen.query_one("#storage-hf-home", Input)
        assert field.value == str(suggested)
        await pilot.click("#storage-apply")
        await settle(pilot)
        shown = str(pilot.app.screen.query_one("#storage-result").render())
        assert f"export HF_HOME={suggested}" in shown  # on screen, wrapped at this width
        assert load_config().config.huggingface.hf_home == suggested

    drive(MagituiApp(), scenario, size=(100, 40))


def test_storage_refuses_a_folder_it_cannot_write(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):
        pytest.skip("running as root: permissions are not enforced")

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await type_into(pilot, "#storage-hf-home", str(locked / "hf"))
        await pilot.press("enter")
        await settle(pilot)
        assert f"HF_HOME = '{locked / 'hf'}' — cannot be created or written" in screen_text(
            pilot.app
        )
        assert load_config().config.huggingface.hf_home is None

    drive(MagituiApp(), scenario, size=(120, 40))


# ---- credentials ----------------------------------------------------------------------------
def test_credentials_are_masked_stored_and_not_verified_offline() -> None:
    token = "hf_" + "A1b2C3d4E5" * 3
    key = "sk-" + "z9y8x7w6v5" * 3

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 2)
        await type_into(pilot, "#cred-hf-token", token)
        await type_into(pilot, "#cred-openai-key", key)
        await type_into(pilot, "#cred-base-url", "ftp://teacher")
        assert token not in screen_text(pilot.app)  # password inputs show dots
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "base URL = 'ftp://teacher' — must start with http:// or https://" in text
        assert "could not verify offline" in text
        assert token not in text and key not in text
        assert "hf_…" in text  # masked: its first and last characters only
        await type_into(pilot, "#cred-base-url", "http://127.0.0.1:8000/v1")
        await pilot.press("enter")
        await settle(pilot)
        assert "Teacher base URL saved" in screen_text(pilot.app)

    drive(MagituiApp(), scenario, size=(120, 40))
    stored = Path(os.environ["MAGITUI_CREDENTIALS"])
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert token in stored.read_text() and key in stored.read_text()
    config = Path(os.environ["MAGITUI_CONFIG"]).read_text()
    assert token not in config and key not in config
    assert load_config().config.teacher.base_url == "http://127.0.0.1:8000/v1"


# ---- review ---------------------------------------------------------------------------------
def test_preflight_catches_adafactor_with_offload_but_writing_is_allowed(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(monkeypatch, 2)
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(json.dumps({"instruction": "i", "response": "r"}) + "\n" for _ in range(1000))
    )

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        await answer(pilot, "grad_accum", "128")
        await choose(pilot, "offload_optimizer", "cpu")
        await step(pilot, 5)
        await type_into(pilot, "#review-data", str(data))
        await type_into(pilot, "#review-batch", "24")
        await pilot.press("enter")  # submitted: preflight runs on the new answers
        await choose_review_optimizer(pilot, "adafactor")  # the recipe's: already chosen
        await wait_until(
            pilot, lambda: "adam_update()" in screen_text(pilot.app), "the preflight findings"
        )
        findings = pilot.app.screen.query_one("#review-findings", Static)
        text = " ".join(str(findings.render()).split())  # all of it, scrolled into view or not
        assert "✗ error" in text and "use --optim adamw_torch" in text
        # The walkthrough's 24 × 128 × 2 = 6 144 on 1 000 rows: one step per epoch.
        assert "effective batch 6144" in text
        await pilot.click("#review-write")
        await settle(pilot)
        assert (run_dir / "accelerate.yaml").is_file() and (run_dir / ANSWERS_FILE).is_file()

    drive(MagituiApp(), scenario, size=(120, 50))


async def choose_review_optimizer(pilot: Pilot[None], value: str) -> None:
    """Pick ``value`` by keyboard: open the list, move to it, Enter."""
    from magitui.screens.setup.review import OPTIMIZERS

    select = pilot.app.screen.query_one("#review-optim", Select)
    names = [name for _, name in OPTIMIZERS]
    moves = names.index(value) - names.index(str(select.value))
    select.focus()
    await pilot.press("enter", *(["down"] * moves if moves > 0 else ["up"] * -moves), "enter")
    await settle(pilot)
    assert select.value == value


def test_write_to_a_chosen_folder_and_accelerates_default(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    hf_home = Path(os.environ["HF_HOME"])

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)  # no runs: "another folder" is chosen
        await step(pilot, 5)
        await type_into(pilot, "#review-folder", str(folder))
        pilot.app.screen.query_one("#review-default", Checkbox).focus()
        await pilot.press("space")
        await pilot.click("#review-write")
        await settle(pilot)

    drive(MagituiApp(), scenario, size=(120, 40))
    default = hf_home / "accelerate" / "default_config.yaml"
    assert default.read_text() == (folder / "accelerate.yaml").read_text()
    config = load_with_accelerate(default)
    assert config.deepspeed_config["deepspeed_config_file"] == str(folder / "deepspeed.json")
    saved = load_answers(folder)
    assert saved is not None and saved.use_deepspeed and saved.zero_stage == 2


class FakeHub(BaseHTTPRequestHandler):
    """The Hub on 127.0.0.1: whoami knows one good token; every model is gated, answered as
    huggingface.co answers a gated repo's files without a token."""

    def do_GET(self) -> None:
        good = self.path.startswith("/api/whoami") and self.headers.get("Authorization") == (
            f"Bearer {GOOD_TOKEN}"
        )
        body = json.dumps({"name": "ml-user", "type": "user"} if good else {"error": "bad"})
        self.send_response(200 if good else 401)
        if self.path.startswith("/api/models/"):
            self.send_header("X-Error-Code", "GatedRepo")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: object) -> None:
        pass


GOOD_TOKEN = "hf_" + "Good1234" * 4


def test_a_key_pasted_as_the_hf_token_gets_a_warning() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 2)
        await type_into(pilot, "#cred-hf-token", "sk-" + "z9y8x7w6v5" * 3)
        await pilot.press("enter")
        await settle(pilot)
        assert "does not look like one (they start with hf_" in screen_text(pilot.app)

    drive(MagituiApp(), scenario, size=(120, 40))


def test_review_default_config_is_labelled_and_paths_resolve_in_the_workspace(
    run_dir: Path,
) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 5)
        text = screen_text(pilot.app)
        assert "Default config" in text and "plain accelerate launch" in text
        data = pilot.app.screen.query_one("#review-data", Input)
        data.focus()
        await pilot.press(*"data/train.jsonl")
        await pilot.press("tab")  # leaving the field shows the path it means
        await settle(pilot)
        workspace = Path(os.environ["MAGITUI_HOME"])
        assert data.value == str(workspace / "data" / "train.jsonl")

    drive(MagituiApp(), scenario, size=(120, 40))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with loopback_hub(FakeHub, monkeypatch) as endpoint:
        yield endpoint


@pytest.mark.parametrize(
    ("token", "verdict"),
    [
        (GOOD_TOKEN, "Hugging Face token verified: it belongs to ml-user"),
        ("hf_" + "Wrong123" * 4, "Hugging Face token rejected (401)"),
    ],
)
def test_token_checked_with_the_hub_when_online(hub: str, token: str, verdict: str) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 2)
        pilot.app.screen.query_one("#cred-hf-token", Input).value = token
        await pilot.click("#cred-save")
        await wait_until(pilot, lambda: verdict in screen_text(pilot.app), "the Hub's answer")
        assert token not in screen_text(pilot.app)

    drive(MagituiApp(), scenario, size=(120, 40))


@pytest.mark.parametrize("online", [True, False])
def test_review_checks_a_gated_base_model(
    online: bool, run_dir: Path, request: pytest.FixtureRequest
) -> None:
    if online:
        request.getfixturevalue("hub")
    verdict = (
        "base model org/gated-coder is gated and no Hugging Face token is set"
        if online
        else "could not check whether base model org/gated-coder is gated (offline)"
    )

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 4)
        await type_into(pilot, "#mem-model", "org/gated-coder")
        await step(pilot, 5)
        await pilot.click("#review-check")
        await wait_until(pilot, lambda: verdict in screen_text(pilot.app), "the gated check")
        text = screen_text(pilot.app)
        assert ("✗ error" in text) is online
        if online:
            assert "huggingface.co/org/gated-coder" in text
            assert "magitui credentials set hf_token" in text

    drive(MagituiApp(), scenario, size=(120, 50))


def test_more_gpus_than_the_machine_has_is_a_problem_in_step_3(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(monkeypatch, 2)

    async def scenario(pilot: Pilot[None]) -> None:
        await open_setup(pilot)
        await step(pilot, 3)
        await answer(pilot, "gpus", "999")
        text = screen_text(pilot.app)
        # Flagged where it is typed; still an answer (a plan for a bigger box).
        assert "! GPUs to use here: 999 — this machine has 2" in text
        assert control(pilot, "gpus").has_class("-invalid")
        await step(pilot, 4)
        await type_into(pilot, "#mem-gpu", "80")
        await type_into(pilot, "#mem-params", "6.7B")
        await estimated(pilot, "enter")
        assert "Figures for 999 GPUs; this machine has 2." in screen_text(pilot.app)
        await step(pilot, 3)
        await answer(pilot, "gpus", "2")
        text = screen_text(pilot.app)
        assert "✓ Answers valid" in text and "! GPUs" not in text

    drive(MagituiApp(), scenario, size=(120, 40))
