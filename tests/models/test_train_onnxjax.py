"""The JAX view of the attribute backbone computes what ONNX Runtime computes, and exports back intact."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from onnx import helper as onnx_helper

from anonflow.contract.errors import ModelFileError
from anonflow.edge.modelfiles.registry import resolve, spec
from anonflow.models.train.graph import (
    BACKBONE_CHANNELS,
    BACKBONE_ROWS,
    BACKBONE_TENSOR,
    FEATURE_SIZE,
    PARENT_GENDER_FEATURE,
    STRIPES,
    backbone,
    extract_features,
)
from anonflow.models.train.onnxjax import from_onnx, with_params


@pytest.fixture(scope="module")
def features_model(model_dir: Path):  # type: ignore[no-untyped-def]
    return backbone(resolve(spec("person-attributes-0230"), model_dir))


def test_jax_forward_matches_onnx_runtime(features_model) -> None:  # type: ignore[no-untyped-def]
    crops = np.random.default_rng(0).integers(0, 256, (3, 160, 80, 3), dtype=np.uint8)
    graph = from_onnx(features_model)
    x = jnp.asarray(crops.transpose(0, 3, 1, 2).astype(np.float32))

    ours = np.asarray(graph.forward({k: jnp.asarray(v) for k, v in graph.params.items()}, x))

    np.testing.assert_allclose(ours, extract_features(features_model, crops), atol=1e-4)
    assert graph.params and not set(graph.params) & set(graph.frozen)  # the input mean stays frozen


def test_backbone_carries_the_parents_own_gender_logit(  # type: ignore[no-untyped-def]
    features_model, model_dir: Path
) -> None:
    import onnxruntime as ort

    crops = np.random.default_rng(1).integers(0, 256, (3, 160, 80, 3), dtype=np.uint8)
    parent = ort.InferenceSession(str(resolve(spec("person-attributes-0230"), model_dir)))
    x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
    p_male = np.array([parent.run(["453"], {"input": x[i : i + 1]})[0].ravel()[0] for i in range(3)])

    logit = extract_features(features_model, crops)[:, PARENT_GENDER_FEATURE]

    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), p_male, atol=1e-5)


def test_with_params_writes_trained_values_back(features_model) -> None:  # type: ignore[no-untyped-def]
    graph = from_onnx(features_model)
    changed = {k: v * 0.5 for k, v in graph.params.items()}
    crops = np.full((1, 160, 80, 3), 100, np.uint8)

    exported = with_params(features_model, changed)

    expected = graph.forward(
        {k: jnp.asarray(v) for k, v in changed.items()},
        jnp.asarray(crops.transpose(0, 3, 1, 2).astype(np.float32)),
    )
    np.testing.assert_allclose(extract_features(exported, crops), np.asarray(expected), atol=1e-4)


def test_unsupported_operator_is_one_line(features_model) -> None:  # type: ignore[no-untyped-def]
    broken = type(features_model)()
    broken.CopyFrom(features_model)
    broken.graph.node[0].op_type = "LSTM"
    with pytest.raises(ModelFileError, match=r"cannot train through operators \['LSTM'\]"):
        from_onnx(broken)


def test_stripe_features_pool_each_band_of_the_parents_map(  # type: ignore[no-untyped-def]
    features_model, model_dir: Path
) -> None:
    import onnx
    import onnxruntime as ort

    parent = onnx.load(str(resolve(spec("person-attributes-0230"), model_dir)))
    cut = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(parent)).extract_model(
        ["input"], [BACKBONE_TENSOR]
    )
    crops = np.random.default_rng(2).integers(0, 256, (2, 160, 80, 3), dtype=np.uint8)
    x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
    maps = np.concatenate(
        [
            ort.InferenceSession(cut.SerializeToString()).run(None, {"input": x[i : i + 1]})[0]
            for i in range(2)
        ]
    )

    features = extract_features(features_model, crops)

    c = BACKBONE_CHANNELS
    rows = BACKBONE_ROWS // STRIPES
    bands = np.stack(
        [maps[:, :, s * rows : (s + 1) * rows] for s in range(STRIPES)], axis=2
    )  # [N, C, S, r, w]
    np.testing.assert_allclose(features[:, :c], maps.mean(axis=(2, 3)), atol=1e-4)
    np.testing.assert_allclose(
        features[:, 2 * c : 2 * c + c * STRIPES], bands.mean(axis=(3, 4)).reshape(2, -1), atol=1e-4
    )
    np.testing.assert_allclose(
        features[:, 2 * c + c * STRIPES : -1], bands.max(axis=(3, 4)).reshape(2, -1), atol=1e-4
    )
    assert features.shape == (2, FEATURE_SIZE)


def test_padded_average_pool_is_refused(features_model) -> None:  # type: ignore[no-untyped-def]
    # Padding would make ONNX's count_include_pad matter, which the JAX view does not model.
    padded = type(features_model)()
    padded.CopyFrom(features_model)
    node = next(n for n in padded.graph.node if n.op_type == "AveragePool")
    node.attribute.append(onnx_helper.make_attribute("pads", [1, 0, 1, 0]))
    with pytest.raises(ModelFileError, match="AveragePool with padding"):
        from_onnx(padded).forward(
            {k: jnp.asarray(v) for k, v in from_onnx(features_model).params.items()},
            jnp.zeros((1, 3, 160, 80), jnp.float32),
        )
