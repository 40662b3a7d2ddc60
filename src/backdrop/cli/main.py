"""The `backdrop` command. Heavy libraries are imported inside commands so `--help` is instant."""

from __future__ import annotations

import enum
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

import backdrop
from backdrop.cli.db_commands import db_app
from backdrop.cli.key_commands import describe_storage, keys_app
from backdrop.errors import BackdropError, NotEnoughMemory
from backdrop.kinds import Channels, OutputFormat

if TYPE_CHECKING:
    import backdrop.cli.runs
    from backdrop.engines.choice import RuntimeChoice

app = typer.Typer(
    help="backdrop: self-hosted, LightX-compatible background removal and generation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Manage model weights.", no_args_is_help=True)
app.add_typer(keys_app, name="keys", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")

# soft_wrap: error messages, paths and commands stay whole, to be read and copied.
console = Console(stderr=True, soft_wrap=True)


class FramingChoice(enum.StrEnum):
    """--framing: where the generated picture puts the subject."""

    place = "place"
    keep = "keep"


class QualityChoice(enum.StrEnum):
    fast = "fast"
    balanced = "balanced"
    best = "best"


class ShadowChoice(enum.StrEnum):
    contact = "contact"
    drop = "drop"
    cast = "cast"
    floating = "floating"
    reflection = "reflection"


def _settings() -> backdrop.settings.Settings:
    from backdrop.settings import Settings

    return Settings()


def _fail(error: BackdropError) -> typer.Exit:
    console.print(f"[red]error:[/red] {error.detail}")
    return typer.Exit(code=1)


def _version(value: bool) -> None:
    if value:
        print(backdrop.__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Options common to every command."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (BACKDROP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (BACKDROP_PORT).")] = None,
) -> None:
    """Run the API server: embedded by default (SQLite, local files, in-process workers), or
    an API node of a cluster with BACKDROP_QUEUE__BACKEND=celery (it loads no model)."""
    from backdrop.api.app import create_app
    from backdrop.cli.first_run import ReadyBlock, page_url, taken_port_message
    from backdrop.observability.logs import configure_logging
    from backdrop.serving.node import EmbeddedNode, build_node
    from backdrop.serving.server import PortTaken, check_port_free
    from backdrop.serving.server import serve as run_server

    settings = _settings()
    configure_logging(settings.log)
    # Database migrations are the operator's log, not the first screen a newcomer reads.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    try:
        # Before the model loads (seconds): a taken port is said at once, in words.
        check_port_free(settings.host, settings.port)
    except PortTaken:
        console.print(
            f"[red]error:[/red] {taken_port_message(settings.host, settings.port)}",
            highlight=False,
        )
        raise typer.Exit(code=1) from None
    try:
        node = build_node(settings)
    except BackdropError as error:
        raise _fail(error) from None
    console.print(f"backdrop {backdrop.__version__} on http://{settings.host}:{settings.port}")
    console.print(describe_storage(settings))
    if isinstance(node, EmbeddedNode):
        from backdrop.cli.runs import print_segmentation_runtime
        from backdrop.engines.inference import model_threads

        print_segmentation_runtime(
            node.segmenters.get(), model_threads(settings.inference), console
        )
    else:
        console.print(f"API node: orders go to Celery queue {settings.queue.name!r}")

    def first_key() -> str | None:
        # Made once the server listens: a start that fails (a taken port, a model that does
        # not load) makes no key, and the next start makes it.
        if node.keys.count():
            return None
        return node.keys.create("default", settings.initial_key_credits).secret

    ready = ReadyBlock(page_url(settings.host, settings.port), first_key, console)
    run_server(create_app(node.api, node), node, settings, on_listening=ready)


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Orders run at once (threads sharing the models).")
    ] = 1,
    hostname: Annotated[
        str | None,
        typer.Option(help="Celery node name (default: backdrop-<pid>-<random>@<host>)."),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Removal orders per model call (default: 8 on a GPU, 1 on a CPU). Above 1, "
            "or on a GPU, the batching worker runs (--concurrency is then derived).",
        ),
    ] = None,
    max_wait_ms: Annotated[
        float, typer.Option(min=0, max=1000, help="Longest wait for a batch to fill (ms).")
    ] = 5.0,
    pipeline_processes: Annotated[
        int | None,
        typer.Option(
            min=1, max=256, help="Processes decoding and encoding (default: cores less one)."
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's /metrics on this port (on BACKDROP_HOST)."),
    ] = None,
) -> None:
    """Run a Celery worker of a cluster: it loads the models once and runs orders queued by
    the API nodes (BACKDROP_QUEUE__BROKER_URL, BACKDROP_DATABASE_URL, BACKDROP_STORAGE__*)."""
    from backdrop.cli.runs import print_segmentation_runtime
    from backdrop.engines.inference import model_threads
    from backdrop.queue.celery_queue import celery_app, register_task, run_worker
    from backdrop.serving.node import build_worker

    settings = _settings()
    if metrics_port is not None:
        from prometheus_client import start_http_server

        # On the address the API would bind: 127.0.0.1 by default, 0.0.0.0 in the image, so
        # Prometheus in another container can scrape a worker.
        start_http_server(metrics_port, addr=settings.host)
    if (batch is not None and batch > 1) or settings.inference.device != "cpu":
        from backdrop.cli.worker_batching import batching_worker

        if batching_worker(settings, batch, max_wait_ms, pipeline_processes, hostname, console):
            return
    try:
        node = build_worker(settings)
        node.start()
    except BackdropError as error:
        raise _fail(error) from None
    print_segmentation_runtime(node.segmenters.get(), model_threads(settings.inference), console)
    app = celery_app(settings.queue)
    register_task(app, node.runs.run)
    try:
        # SIGTERM: no new orders; running ones get BACKDROP_WORKER__DRAIN_SECONDS, then are
        # handed back to the queue; the process exits 0.
        run_worker(app, settings.queue.name, concurrency, hostname, node.runs.drain_in_background)
        node.runs.wait_drained()
    finally:
        node.stop()
    if node.runs.gave_up:
        # Runs handed back are still going in their threads, inside a model: exit now rather
        # than tear the models down under them at interpreter shutdown (a crash, not a 0).
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@models_app.command("fetch")
def models_fetch(
    model: Annotated[
        str | None, typer.Option(help="Model id (default: BACKDROP_SEGMENTATION_MODEL).")
    ] = None,
) -> None:
    """Download and verify model weights into the model cache (BACKDROP_MODELS_DIR)."""
    from backdrop.engines.model_install import fetch_model, is_installed
    from backdrop.engines.models_file import load_catalog

    settings = _settings()
    model_id = model or settings.segmentation_model
    try:
        catalog = load_catalog(settings.models_dir, settings.models_config)
        path = fetch_model(model_id, settings.models_dir, catalog=catalog)
        console.print(f"{model_id}: {path}")
        # The graph this CPU will run in its place (engines/choice.py), so `serve` finds it.
        int8_graph = catalog[model_id].int8_graph
        if int8_graph is not None and _cpu_choice(settings).graph == "int8":
            # Said only when it is about to happen: `make run` fetches at every start.
            if not is_installed(catalog[int8_graph], settings.models_dir):
                console.print(
                    f"this CPU runs {int8_graph} in its place: deriving it (minutes, once)"
                )
            try:
                path = fetch_model(int8_graph, settings.models_dir, catalog=catalog)
            except NotEnoughMemory as error:
                # The model itself is installed and runs; only the faster graph is missing.
                console.print(
                    f"{int8_graph}: not made: {error.detail}; {model_id} runs its fp32 graph "
                    "here (BACKDROP_INFERENCE__PRECISION=f32 or bf16 skips this step)"
                )
            else:
                console.print(f"{int8_graph}: {path}")
    except BackdropError as error:
        raise _fail(error) from None


def _cpu_choice(settings: backdrop.settings.Settings) -> RuntimeChoice:
    from backdrop.engines.choice import choose
    from backdrop.engines.cpu import read_cpu
    from backdrop.engines.inference import DEFAULT_PROVIDER_PREFERENCE, choose_providers

    inference = settings.inference
    providers = choose_providers(DEFAULT_PROVIDER_PREFERENCE)
    return choose(read_cpu(), inference.runtime, inference.precision, providers)


@models_app.command("list")
def models_list() -> None:
    """List segmentation models: id, whether installed, licence, source and description."""
    from backdrop.cli.model_table import model_rows, models_table
    from backdrop.engines.models_file import load_catalog

    settings = _settings()
    try:
        catalog = load_catalog(settings.models_dir, settings.models_config)
    except BackdropError as error:
        raise _fail(error) from None
    out = Console()
    rows = model_rows(catalog.values(), settings.models_dir, settings.segmentation_model)
    out.print(models_table(rows, out.width))


# Options shared by `remove` and `generate` (batch runs, local or through a server).
JobsOption = Annotated[
    int, typer.Option("--jobs", "-j", min=1, max=64, help="Images processed at once.")
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Redo images whose outputs already exist.")
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        envvar="BACKDROP_SERVER",
        help="Run through this server (backdrop or LightX) instead of locally.",
    ),
]
ApiKeyOption = Annotated[
    str | None, typer.Option(envvar="BACKDROP_API_KEY", help="API key for --server.")
]
ImagesArgument = Annotated[
    list[Path], typer.Argument(help="Image files and folders (searched recursively).")
]
OutputDirOption = Annotated[Path, typer.Option("-o", "--output-dir", help="Where to write.")]


def _batch_options(
    images: list[Path],
    output_dir: Path,
    jobs: int,
    overwrite: bool,
    server: str | None,
    api_key: str | None,
) -> backdrop.cli.runs.BatchOptions:
    from backdrop.cli.runs import BatchOptions

    if server and not api_key:
        console.print("[red]error:[/red] --server needs --api-key (or BACKDROP_API_KEY)")
        raise typer.Exit(code=2)
    if server:
        from backdrop.client.core import checked_base_url

        try:
            checked_base_url(server)
        except ValueError as error:
            console.print(f"[red]error:[/red] --server: {error}", highlight=False)
            raise typer.Exit(code=2) from None
    return BatchOptions(images, output_dir, jobs, overwrite, server, api_key)


def _run_batch(run: Callable[[], int], server: str | None) -> None:
    from backdrop.cli import runs
    from backdrop.cli.hints import next_step
    from backdrop.client.errors import BackdropClientError

    try:
        code = run()
    except BackdropError as error:
        raise _fail(error) from None
    except BackdropClientError as error:
        console.print(f"[red]error:[/red] {next_step(error, server)}", highlight=False)
        raise typer.Exit(code=1) from None
    if code == runs.INTERRUPTED:
        # Workers may still be inside onnxruntime, which aborts if the interpreter is torn
        # down under it; every write is finished or never started, so leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code:
        raise typer.Exit(code=code)


@app.command()
def remove(
    images: ImagesArgument,
    output_dir: OutputDirOption,
    background: Annotated[
        str | None,
        typer.Option(help="transparent (default), a colour name or hex, or an image file."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Segmentation model id (`backdrop models list`).")
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "png",
    crop: Annotated[bool, typer.Option(help="Crop output and mask to the subject.")] = False,
    crop_margin: Annotated[
        int, typer.Option(min=0, max=10_000, help="Pixels kept around the subject with --crop.")
    ] = 0,
    size: Annotated[
        str | None,
        typer.Option(help="preview (long side 625), full (default) or a maximum long side."),
    ] = None,
    channels: Annotated[Channels, typer.Option(help="rgba, or alpha for the matte only.")] = "rgba",
    shadow: Annotated[
        ShadowChoice | None,
        typer.Option(help="A shadow under the subject (semi-transparent on transparency)."),
    ] = None,
    canvas: Annotated[
        str | None,
        typer.Option(
            help="The result's canvas: WIDTHxHEIGHT (2000x2000), original, subject, or a preset "
            "(square-white, amazon, ebay, etsy, shopify, instagram, portrait, tight); "
            "marketplace presets are on white unless --background says otherwise."
        ),
    ] = None,
    padding: Annotated[
        str | None,
        typer.Option(help="Room around the subject: 8%, 0.08 or 40px; 1, 2 or 4 values as CSS."),
    ] = None,
    align: Annotated[
        str | None,
        typer.Option(help="center (default), top, bottom, left, right, bottom-left, ..."),
    ] = None,
    light_match: Annotated[
        bool,
        typer.Option(help="Nudge the subject's exposure and colour toward an image background."),
    ] = False,
    quality: Annotated[
        QualityChoice,
        typer.Option(
            help="balanced (default); best: each photo and its mirror image, averaged, about "
            "twice the time; "
            "fast: the int8 graph on any CPU (the default already runs it on CPUs without AMX)."
        ),
    ] = QualityChoice.balanced,
    # Two: one image is decoded, refined and encoded while the model runs on the next; on a
    # 2-core AVX2 EPYC a folder takes 2-5% less time than one at a time (bench/RESULTS.md).
    jobs: JobsOption = 2,
    overwrite: OverwriteOption = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove backgrounds, locally or with --server through an API.

    Writes DIR/<stem>.<format> (RGBA, the composite with --background, or the matte with
    --channels alpha) and DIR/<stem>.mask.png.
    """
    from backdrop.cli import runs
    from backdrop.cli.operations import RemoveWish
    from backdrop.imaging.layout_options import layout_from_text, preset_background
    from backdrop.imaging.output import OutputOptions, max_side_for
    from backdrop.imaging.shadows import ShadowSpec

    settings = _settings()
    options = _batch_options(images, output_dir, jobs, overwrite, server, api_key)
    size_value: str | int | None = size
    if size is not None and size.isdigit():
        size_value = int(size)
    try:
        max_side = max_side_for(size_value)
    except ValueError as error:
        console.print(f"[red]error:[/red] --size: {error}")
        raise typer.Exit(code=2) from None
    try:
        layout = layout_from_text(canvas, padding, align)
    except ValueError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
    if background is None and preset_background(canvas) is not None:
        background = f"#{preset_background(canvas)}"
    if quality is not QualityChoice.balanced:
        from backdrop.engines.derive import model_for_quality

        model = model_for_quality(model or settings.segmentation_model, quality.value)
    wish = RemoveWish(
        model=model,
        output=OutputOptions(
            format=output_format,
            crop=crop,
            crop_margin=crop_margin,
            max_side=max_side,
            channels=channels,
            layout=layout,
            shadow=ShadowSpec(shadow.value) if shadow is not None else None,
            light_match=light_match,
        ),
        size=size_value,
        layout_text={"canvas": canvas, "padding": padding, "align": align},
    )
    _run_batch(lambda: runs.remove(settings, options, background, model, console, wish), server)


@app.command()
def generate(
    images: Annotated[
        list[Path] | None,
        typer.Argument(help="Image files and folders (searched recursively)."),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("-o", "--output-dir", help="Where to write.")
    ] = None,
    prompt: Annotated[str, typer.Option(help="The background to generate, in words.")] = "",
    seed: Annotated[
        int | None, typer.Option(min=0, help="Same seed, same image (default: from the prompt).")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="Generation engine: studio (default) or diffusion.")
    ] = None,
    framing: Annotated[
        FramingChoice | None,
        typer.Option(
            help="place (default): scale, centre and ground the subject; keep: its framing."
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the studio scene recipe for --prompt and stop.")
    ] = False,
    model: Annotated[str | None, typer.Option(help="Segmentation model id (local).")] = None,
    jobs: JobsOption = 1,
    overwrite: OverwriteOption = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Put each subject on a background generated from --prompt. Writes DIR/<stem>.jpg."""
    from backdrop.cli import runs
    from backdrop.cli.operations import GenerateWish

    if not prompt.strip():
        console.print("[red]error:[/red] --prompt is required")
        raise typer.Exit(code=2)
    if explain:
        import json

        from backdrop.engines.studio import explain as explain_prompt

        print(json.dumps(explain_prompt(prompt).to_dict(), indent=2))
        return
    if not images or output_dir is None:
        console.print("[red]error:[/red] give IMAGES and -o DIR (or --explain)")
        raise typer.Exit(code=2)
    settings = _settings()
    options = _batch_options(images, output_dir, jobs, overwrite, server, api_key)
    wish = GenerateWish(
        prompt=prompt,
        seed=seed,
        engine=engine,
        framing=framing.value if framing is not None else None,
    )
    _run_batch(
        lambda: runs.generate(
            settings, options, wish, model or settings.segmentation_model, console
        ),
        server,
    )


@app.command("eval")
def eval_command(
    sets: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Set folders, each with images/ and masks/ inside; several are scored side "
            "by side.",
            show_default=False,
        ),
    ] = None,
    images: Annotated[Path | None, typer.Option(help="Folder of images (one set).")] = None,
    masks: Annotated[
        Path | None, typer.Option(help="Folder of masks named like the images (.png).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the scores to this JSON file.")
    ] = None,
    per_image: Annotated[bool, typer.Option(help="Show a row per image.")] = False,
    model: Annotated[str | None, typer.Option(help="Segmentation model id.")] = None,
    tolerance: Annotated[int, typer.Option(help="Boundary tolerance in pixels.")] = 3,
) -> None:
    """Score the remove pipeline against ground-truth masks: IoU, MAE, boundary F.

    Give set folders (`backdrop eval ../eval/davis ../eval/berkeley`: each holds images/ and
    masks/) or --images and --masks. Mask value 128 marks unknown pixels, which are not scored.
    """
    import json

    from backdrop.engines.models_file import load_catalog
    from backdrop.engines.placement import create_segmenter
    from backdrop.evaluation.evaluate import evaluate, pipeline_alpha
    from backdrop.evaluation.render import report_table, sets_table
    from backdrop.evaluation.sets import EvalSet, eval_sets

    settings = _settings()
    try:
        chosen: list[EvalSet] = eval_sets(sets or [], images, masks)
        segmenter = create_segmenter(
            model or settings.segmentation_model,
            models_dir=settings.models_dir,
            inference=settings.inference,
            catalog=load_catalog(settings.models_dir, settings.models_config),
        )
        alpha = pipeline_alpha(segmenter)
        reports = {}
        for chosen_set in chosen:
            with console.status(f"scoring {len(chosen_set.pairs)} images of {chosen_set.name}"):
                reports[chosen_set.name] = evaluate(
                    chosen_set.pairs,
                    alpha,
                    max_pixels=settings.limits.max_pixels,
                    tolerance=tolerance,
                )
    except BackdropError as error:
        raise _fail(error) from None
    out = Console()
    if len(reports) == 1:
        (report,) = reports.values()
        out.print(report_table(report, tolerance=tolerance, per_image=per_image))
        scores = report.to_json()
    else:
        if per_image:
            for name, report in reports.items():
                out.print(name, style="bold")
                out.print(report_table(report, tolerance=tolerance, per_image=True))
        out.print(sets_table(reports, tolerance=tolerance))
        scores = {"sets": {name: report.to_json() for name, report in reports.items()}}
    if json_out is not None:
        json_out.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
