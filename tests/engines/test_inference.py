"""Runtimes: onnxruntime and OpenVINO run the same ONNX file and agree; `auto` picks right."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from backdrop.engines.cpu import read_cpu
from backdrop.engines.inference import (
    COMPILED_CACHE,
    OpenVinoSession,
    choose_providers,
    choose_runtime,
    compiled_cache_dir,
    describe,
    make_session_options,
    open_session,
    openvino_config,
)
from backdrop.settings import InferenceSettings


def write_conv_net(path: Path, size: int = 32, seed: int = 7) -> Path:
    """A small random conv net shaped like a segmenter: [1,3,S,S] -> sigmoid [1,1,S,S].

    Conv, ReLU, max-pool, bilinear upsample back, concat with the skip, conv, sigmoid: the
    kinds of operators ISNet is made of, so both runtimes take the same paths as for it.
    """
    rng = np.random.default_rng(seed)

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, 0.5, shape).astype(np.float32), name)

    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Resize", ["r2", "", "scales"], ["u2"], mode="linear"),
        helper.make_node("Concat", ["u2", "r1"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w3", "b3"], ["logits"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conv-net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, size, size])],
        [
            weight("w1", 8, 3, 3, 3),
            weight("b1", 8),
            weight("w2", 8, 8, 3, 3),
            weight("b2", 8),
            weight("w3", 1, 16, 3, 3),
            weight("b3", 1),
            scales,
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def batch(size: int = 32, seed: int = 1) -> npt.NDArray[np.float32]:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (1, 3, size, size)).astype(np.float32)


# -- choosing ---------------------------------------------------------------------------------


def test_providers_follow_the_preference_order() -> None:
    available = ["AzureExecutionProvider", "CPUExecutionProvider", "CUDAExecutionProvider"]
    assert choose_providers(available=available) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(available=["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(["CUDAExecutionProvider"], available=["CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]
    assert set(choose_providers()) <= set(ort.get_available_providers())


def test_auto_prefers_a_gpu_then_openvino_then_onnxruntime() -> None:
    gpu = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    cpu = ["CPUExecutionProvider"]
    assert choose_runtime("auto", gpu, has_openvino=True) == "onnxruntime"
    assert choose_runtime("auto", cpu, has_openvino=True) == "openvino"
    assert choose_runtime("auto", cpu, has_openvino=False) == "onnxruntime"
    assert choose_runtime("onnxruntime", cpu, has_openvino=True) == "onnxruntime"
    assert choose_runtime("openvino", gpu, has_openvino=True) == "openvino"
    # This machine has OpenVINO installed (a core dependency) and no GPU for onnxruntime.
    assert choose_runtime("auto", choose_providers()) == "openvino"


def test_unknown_or_missing_runtime_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="auto, onnxruntime or openvino"):
        choose_runtime("tensorflow", ["CPUExecutionProvider"], has_openvino=True)
    with pytest.raises(RuntimeError, match="openvino package is missing"):
        choose_runtime("openvino", ["CPUExecutionProvider"], has_openvino=False)


def test_settings_refuse_unknown_runtimes_and_precisions() -> None:
    with pytest.raises(ValueError, match="runtime"):
        InferenceSettings(runtime="tensorflow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="precision"):
        InferenceSettings(precision="int4")  # type: ignore[arg-type]


def test_session_options() -> None:
    options = make_session_options(threads=3)
    assert options.intra_op_num_threads == 3
    assert options.inter_op_num_threads == 1
    assert options.enable_mem_pattern is False
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_openvino_config_follows_the_settings() -> None:
    config = openvino_config(InferenceSettings(threads=3))
    assert config["INFERENCE_NUM_THREADS"] == 3 and config["NUM_STREAMS"] == 1
    assert "INFERENCE_PRECISION_HINT" not in config  # auto: OpenVINO's own choice per CPU
    exact = openvino_config(InferenceSettings(precision="f32"))
    assert exact["INFERENCE_PRECISION_HINT"] == "f32"


# -- running ----------------------------------------------------------------------------------


def test_open_session_gives_the_asked_runtime(tmp_path: Path) -> None:
    model = write_conv_net(tmp_path / "net.onnx")
    assert isinstance(open_session(model, InferenceSettings(runtime="openvino")), OpenVinoSession)
    assert isinstance(
        open_session(model, InferenceSettings(runtime="onnxruntime")), ort.InferenceSession
    )
    assert isinstance(open_session(model, InferenceSettings()), OpenVinoSession)  # auto, CPU


@pytest.mark.parametrize(
    ("precision", "tolerance"),
    # f32 computes what onnxruntime computes; bf16 keeps 8 bits of mantissa, so
    # probabilities stay within a few hundredths.
    [("f32", 1e-5), ("bf16", 0.05)],
)
def test_openvino_matches_onnxruntime(tmp_path: Path, precision: str, tolerance: float) -> None:
    model = write_conv_net(tmp_path / "net.onnx")
    x = batch()
    reference = open_session(model, InferenceSettings(runtime="onnxruntime")).run(
        ["output"], {"input": x}
    )[0]
    inference = InferenceSettings(runtime="openvino", precision=precision)  # type: ignore[arg-type]
    session = open_session(model, inference)
    # A CPU without bf16 units (AVX2 only) computes a bf16 hint in f32.
    computed = precision if precision != "bf16" or read_cpu().bf16 else "f32"
    assert isinstance(session, OpenVinoSession) and session.precision == computed
    (output,) = session.run(["output"], {"input": x})

    assert output.shape == reference.shape == (1, 1, 32, 32)
    assert output.dtype == np.float32
    np.testing.assert_allclose(output, reference, atol=tolerance)
    # The net is not trivial: its output spans a real range.
    assert float(reference.max() - reference.min()) > 0.5


def test_openvino_outputs_are_not_overwritten_by_the_next_run(tmp_path: Path) -> None:
    session = OpenVinoSession(write_conv_net(tmp_path / "net.onnx"), InferenceSettings())
    (first,) = session.run(["output"], {"input": batch(seed=1)})
    kept = first.copy()
    session.run(["output"], {"input": batch(seed=2)})
    np.testing.assert_array_equal(first, kept)
    # None asks for every output, as onnxruntime does.
    (everything,) = session.run(None, {"input": batch(seed=1)})
    np.testing.assert_array_equal(everything, kept)


def test_openvino_names_unknown_inputs_and_outputs(tmp_path: Path) -> None:
    session = OpenVinoSession(write_conv_net(tmp_path / "net.onnx"), InferenceSettings())
    assert [port.name for port in session.get_inputs()] == ["input"]
    assert [port.name for port in session.get_outputs()] == ["output"]
    with pytest.raises(KeyError, match="mask"):
        session.run(["mask"], {"input": batch()})
    with pytest.raises(KeyError, match="pixels"):
        session.run(["output"], {"pixels": batch()})


def test_openvino_session_is_safe_from_many_threads(tmp_path: Path) -> None:
    session = OpenVinoSession(write_conv_net(tmp_path / "net.onnx"), InferenceSettings())
    inputs = [batch(seed=seed) for seed in range(6)]
    expected = [session.run(["output"], {"input": x})[0] for x in inputs]
    results: dict[int, npt.NDArray[np.float32]] = {}

    def work(index: int) -> None:
        results[index] = session.run(["output"], {"input": inputs[index]})[0]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, output in enumerate(expected):
        np.testing.assert_array_equal(results[index], output)


def test_describe_names_the_runtime_and_precision(tmp_path: Path) -> None:
    model = write_conv_net(tmp_path / "net.onnx")
    exact = open_session(model, InferenceSettings(runtime="openvino", precision="f32"))
    assert describe(exact) == "OpenVINO, f32"
    assert describe(open_session(model, InferenceSettings(runtime="onnxruntime"))) == (
        "onnxruntime, CPU"
    )


def test_openvino_keeps_compiled_models_and_never_serves_a_replaced_file_a_stale_one(
    tmp_path: Path,
) -> None:
    model = write_conv_net(tmp_path / "net.onnx", seed=7)
    x = batch()
    # f32: compared with onnxruntime below, where a CPU with bf16 units would compute in bf16.
    exact = InferenceSettings(precision="f32")
    first = OpenVinoSession(model, exact).run(["output"], {"input": x})[0]
    (folder,) = (tmp_path / COMPILED_CACHE).iterdir()  # one folder for the one model
    blobs = set(folder.iterdir())
    assert len(blobs) == 1  # compiled once and kept
    again = OpenVinoSession(model, exact).run(["output"], {"input": x})[0]
    np.testing.assert_array_equal(again, first)
    assert set(folder.iterdir()) == blobs  # loaded, not compiled again

    # Other weights at the same path (a model fetched again): its own blob, its own output,
    # and the old blob, which nothing would read again, is gone.
    write_conv_net(tmp_path / "other.onnx", seed=8).replace(model)
    replaced = OpenVinoSession(model, exact).run(["output"], {"input": x})[0]
    reference = open_session(model, InferenceSettings(runtime="onnxruntime")).run(
        ["output"], {"input": x}
    )[0]
    np.testing.assert_allclose(replaced, reference, atol=1e-5)
    assert float(np.abs(replaced - first).max()) > 0.05
    (new_folder,) = (tmp_path / COMPILED_CACHE).iterdir()
    assert new_folder != folder
    assert len(list(new_folder.iterdir())) == 1


def test_a_new_openvino_or_model_file_deletes_only_that_models_old_blobs(tmp_path: Path) -> None:
    model = write_conv_net(tmp_path / "net.onnx")
    other = write_conv_net(tmp_path / "net.onnx-other.onnx")  # a name that starts alike
    cache = tmp_path / COMPILED_CACHE
    old = compiled_cache_dir(model, "2025.0")
    others = compiled_cache_dir(other, "2025.0")
    assert old is not None and others is not None
    (old / "a.blob").write_bytes(b"old")
    (others / "b.blob").write_bytes(b"kept")
    (cache / "0123.blob").write_bytes(b"left loose by a version with one shared folder")

    new = compiled_cache_dir(model, "2026.4")
    assert new is not None and new != old
    assert not old.exists() and not (cache / "0123.blob").exists()
    assert (others / "b.blob").read_bytes() == b"kept"
    assert compiled_cache_dir(model, "2026.4") == new  # same file, same version: same folder


def test_a_model_folder_without_room_for_a_cache_still_runs(tmp_path: Path) -> None:
    model = write_conv_net(tmp_path / "net.onnx")
    (tmp_path / COMPILED_CACHE).write_text("a file where the cache folder would go")
    assert compiled_cache_dir(model, "2026.4") is None
    (output,) = OpenVinoSession(model, InferenceSettings()).run(["output"], {"input": batch()})
    assert output.shape == (1, 1, 32, 32)
    assert (tmp_path / COMPILED_CACHE).is_file()
