"""The batch graph and model: batched masks equal the per-image engine's, the graph has a
free batch dimension, and the GPU paths (TensorRT, CUDA with I/O binding, the causes named
when CUDA cannot be had) behave as written, checked with stand-ins where there is no GPU.

Tolerance: the batched mask differs from `predict`'s by at most 1 grey level (of 255) per
pixel: the normalisation runs inside the graph, in another order of float32 operations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from backdrop.engines import gpu
from backdrop.engines.batch_graph import BATCH_DIM, PICTURES, PREDICTION, SCALE
from backdrop.engines.batch_model import BatchModel, Placement, Recipe
from backdrop.engines.model_presets import PRESETS, ModelFormat, PresetSegmenter
from backdrop.engines.refine import DEFAULT_REFINE
from backdrop.engines.segmentation import OnnxSegmenter, TunedIsnetSegmenter
from backdrop.settings import InferenceSettings
from tests.conftest import subject_photo
from tests.engines.tiny_onnx import tiny_segmentation_model

SIZE = 64
CPU = InferenceSettings(runtime="onnxruntime", device="cpu", threads=1)


def _isnet_like(path: Path) -> Path:
    """The tiny graph with ISNet's tensor names (input/output), squashed to 0..1."""
    import onnx
    from onnx import helper

    model = onnx.load_from_string(tiny_segmentation_model(SIZE, gain=0.05))
    graph = model.graph
    graph.input[0].name = "input"
    graph.node[0].input[0] = "input"
    graph.node[-1].output[0] = "logits_raw"
    graph.node.append(helper.make_node("Sigmoid", ["logits_raw"], ["output"]))
    graph.output[0].name = "output"
    onnx.save(model, str(path))
    return path


class SmallIsnet(TunedIsnetSegmenter):
    input_size: ClassVar[tuple[int, int]] = (SIZE, SIZE)


def _photos() -> list[Image.Image]:
    photos = [subject_photo(w, h)[0] for w, h in ((120, 90), (64, 64), (50, 140))]
    rgba = photos[0].convert("RGBA")
    return [*photos, rgba]


def _batched(model: BatchModel, recipe: Recipe, photos: list[Image.Image]) -> list[np.ndarray]:
    inputs = [recipe.model_input(photo) for photo in photos]
    predictions = model.predict([p for p, _ in inputs], [s for _, s in inputs])
    return [recipe.mask(predictions[i], photo) for i, photo in enumerate(photos)]


@pytest.mark.parametrize("mirror", [False, True])
def test_isnet_batched_masks_equal_per_image_ones(tmp_path: Path, mirror: bool) -> None:
    path = _isnet_like(tmp_path / "isnet.onnx")
    engine = SmallIsnet(path, model_id="small", inference=CPU, refine=DEFAULT_REFINE, mirror=mirror)
    recipe = Recipe.of(engine)
    assert recipe.scale_by_max and recipe.refine == DEFAULT_REFINE and recipe.mirror == mirror
    model = BatchModel.open(path, recipe, CPU, cuda=False)
    photos = _photos()
    for photo, mask in zip(photos, _batched(model, recipe, photos), strict=True):
        expected = engine.predict(photo)
        assert mask.shape == expected.shape
        assert np.abs(mask.astype(int) - expected.astype(int)).max() <= 1


def test_preset_batched_masks_equal_per_image_ones(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    path.write_bytes(tiny_segmentation_model(SIZE))
    fmt = ModelFormat((SIZE, SIZE), PRESETS["birefnet"].mean, PRESETS["birefnet"].std, "sigmoid")
    engine = PresetSegmenter(path, model_format=fmt, model_id="tiny", inference=CPU)
    recipe = Recipe.of(engine)
    model = BatchModel.open(path, recipe, CPU, cuda=False)
    photos = _photos()
    for photo, mask in zip(photos, _batched(model, recipe, photos), strict=True):
        assert np.abs(mask.astype(int) - engine.predict(photo).astype(int)).max() <= 1


def test_the_batch_graph_takes_any_batch_and_is_cached_beside_the_model(tmp_path: Path) -> None:
    path = _isnet_like(tmp_path / "isnet.onnx")
    recipe = Recipe.of(SmallIsnet(path, model_id="small", inference=CPU))
    model = BatchModel.open(path, recipe, CPU, cuda=False)
    (graph,) = (tmp_path / "batch").glob("*.onnx")
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    inputs = {value.name: value.shape for value in session.get_inputs()}
    assert inputs[PICTURES] == [BATCH_DIM, SIZE, SIZE, 3] and inputs[SCALE][0] == BATCH_DIM
    assert session.get_outputs()[0].name == PREDICTION
    pictures = np.zeros((5, SIZE, SIZE, 3), np.uint8)
    assert model.predict(list(pictures), [1.0] * 5).shape == (5, SIZE, SIZE)
    BatchModel.open(path, recipe, CPU, cuda=False)  # read from the cache, not made again
    assert len(list((tmp_path / "batch").glob("*.onnx"))) == 1


# -- the GPU paths, with stand-ins ------------------------------------------------------------


class FakeBinding:
    def __init__(self, log: list[Any]) -> None:
        self.log = log
        self.inputs: dict[str, np.ndarray] = {}

    def bind_cpu_input(self, name: str, value: np.ndarray) -> None:
        self.log.append(("input", name, value.dtype.name, value.shape))
        self.inputs[name] = value

    def bind_output(self, name: str, device: str) -> None:
        self.log.append(("output", name, device))

    def copy_outputs_to_cpu(self) -> list[np.ndarray]:
        count = self.inputs[PICTURES].shape[0]
        return [np.full((count, 1, SIZE, SIZE), 0.5, np.float16)]


class FakeOrt:
    """onnxruntime as a machine with a GPU would have it, recording what it is asked."""

    def __init__(self, loads: list[str]) -> None:
        self.loads = loads  # the providers the session manages to load
        self.log: list[Any] = []

    def InferenceSession(self, path: str, sess_options: Any, providers: list[Any]) -> Any:
        self.log.append(("session", Path(path).name, providers))
        outer = self

        class Session:
            def get_providers(self) -> list[str]:
                return outer.loads

            def io_binding(self) -> FakeBinding:
                return FakeBinding(outer.log)

            def run_with_iobinding(self, binding: FakeBinding) -> None:
                outer.log.append(("run",))

        return Session()


def _recipe(tmp_path: Path) -> tuple[Path, Recipe]:
    path = _isnet_like(tmp_path / "isnet.onnx")
    return path, Recipe.of(SmallIsnet(path, model_id="small", inference=CPU))


def test_tensorrt_is_preferred_in_fp16_with_its_engine_cache(tmp_path: Path) -> None:
    path, recipe = _recipe(tmp_path)
    fake = FakeOrt(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    model = BatchModel.open(
        path,
        recipe,
        CPU,
        cuda=True,
        runtime=fake,
        gpu_providers=lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
    )
    assert model.placement == Placement("cuda", "TensorrtExecutionProvider", "fp16")
    (_, _, providers) = fake.log[0]
    name, options = providers[0]
    assert name == "TensorrtExecutionProvider" and options["trt_fp16_enable"] is True
    assert Path(options["trt_engine_cache_path"]) == tmp_path / "tensorrt-cache"
    prediction = model.predict([np.zeros((SIZE, SIZE, 3), np.uint8)] * 4, [1.0] * 4)
    # I/O binding: uint8 pictures in (a quarter of float32's bytes), the output on the GPU.
    assert ("input", PICTURES, "uint8", (4, SIZE, SIZE, 3)) in fake.log
    assert ("output", PREDICTION, "cuda") in fake.log and ("run",) in fake.log
    assert prediction.shape == (4, SIZE, SIZE) and prediction.dtype == np.float32


def test_a_cuda_provider_that_does_not_load_is_named_not_hidden(tmp_path: Path) -> None:
    path, recipe = _recipe(tmp_path)
    fake = FakeOrt(["CPUExecutionProvider"])  # onnxruntime fell back: CUDA libraries missing
    with pytest.raises(gpu.CudaUnavailable, match="missing CUDA libraries"):
        BatchModel.open(
            path,
            recipe,
            CPU,
            cuda=True,
            runtime=fake,
            gpu_providers=lambda: ["CUDAExecutionProvider"],
        )


def test_each_cause_of_no_gpu_is_named() -> None:
    with pytest.raises(gpu.CudaUnavailable, match="no CUDA device: the driver sees no GPU"):
        gpu.check_cuda(devices=lambda: gpu.DeviceCount(0, "the driver sees no GPU"))
    with pytest.raises(gpu.CudaUnavailable, match=r"has no CUDA provider.*onnxruntime-gpu"):
        gpu.check_cuda(
            devices=lambda: gpu.DeviceCount(1),
            providers=lambda: ["CPUExecutionProvider"],
            version=lambda: "1.31.1",
        )
    assert gpu.check_cuda(
        devices=lambda: gpu.DeviceCount(1),
        providers=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
    ) == ["CUDAExecutionProvider"]


def test_this_machine_without_a_gpu_says_so() -> None:
    """A real check: the machine the tests run on has no NVIDIA driver or no GPU."""
    found = gpu.count_devices()
    if found.count:
        pytest.skip("this machine has a GPU")
    assert found.problem


def test_the_real_isnet_graph_batches_to_the_same_masks() -> None:
    """The default model's fp32 graph (no batch axis as shipped) run two pictures at a time
    on onnxruntime gives the masks the per-image engine gives, to the grey level."""
    from backdrop.engines.placement import create_segmenter
    from backdrop.settings import Settings

    settings = Settings()
    fp32 = InferenceSettings(runtime="onnxruntime", device="cpu", precision="f32", threads=2)
    engine = create_segmenter("isnet-general", models_dir=settings.models_dir, inference=fp32)
    assert isinstance(engine, OnnxSegmenter) and engine.model_path is not None
    if not engine.model_path.is_file():
        pytest.skip("the default model is not installed (`backdrop models fetch`)")
    recipe = Recipe.of(engine)
    model = BatchModel.open(engine.model_path, recipe, fp32, cuda=False)
    photos = [subject_photo(640, 480)[0], subject_photo(300, 400)[0]]
    for photo, mask in zip(photos, _batched(model, recipe, photos), strict=True):
        assert np.abs(mask.astype(int) - engine.predict(photo).astype(int)).max() <= 1


def test_the_fp16_batch_graph_keeps_its_inputs_and_output(tmp_path: Path) -> None:
    """The graph a GPU without TensorRT runs: fp16 inside, uint8/float32 at its edges, and
    the same prediction as the fp32 graph to fp16's precision (run here on the CPU)."""
    from backdrop.engines.batch_graph import cached_batch_graph

    path = _isnet_like(tmp_path / "isnet.onnx")
    recipe = Recipe.of(SmallIsnet(path, model_id="small", inference=CPU))
    graphs = [cached_batch_graph(path, recipe.normalisation, fp16=fp16) for fp16 in (False, True)]
    assert graphs[1].name.endswith("-fp16.onnx")
    feed = {
        PICTURES: np.stack([recipe.model_input(photo)[0] for photo in _photos()]),
        SCALE: np.ones((4, 1, 1, 1), np.float32),
    }
    outputs = []
    for graph in graphs:
        session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        assert [value.type for value in session.get_inputs()] == ["tensor(uint8)", "tensor(float)"]
        assert session.get_outputs()[0].type == "tensor(float)"
        outputs.append(session.run([PREDICTION], feed)[0])
    assert np.abs(outputs[0] - outputs[1]).max() < 2e-3
