"""Baseline models: one shared contract that every model's test class subclasses."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pourbench.baselines import (
    CNN,
    LSTMCNN,
    MODELS,
    MultiFrameCNN,
    SegmentationModel,
    build_model,
    model_from_config,
)
from pourbench.benchmark.loader import normalise_frames
from pourbench.benchmark.synthetic import synthetic_sequence
from pourbench.core.errors import PourbenchError


def frames(b=2, t=3, c=3, h=24, w=32, seed=0):
    return torch.randn(b, t, c, h, w, generator=torch.Generator().manual_seed(seed))


class ModelContract:
    """Properties every baseline must have. Subclasses set ``name`` (registry name)."""

    name: str
    overfit_lr = 1e-2
    overfit_max_steps = 150

    def build(self, **kw) -> SegmentationModel:
        torch.manual_seed(0)
        return build_model(self.name, **kw)

    @pytest.mark.parametrize("channels", [3, 1, 4])
    def test_shapes_per_modality(self, channels):
        model = self.build(in_channels=channels)
        x = frames(c=channels)
        assert model(x).masks.shape == (2, 3, 1, 24, 32)
        two_heads = self.build(in_channels=channels, out_channels=2)
        assert two_heads(x).masks.shape == (2, 3, 2, 24, 32)

    @pytest.mark.parametrize("hw", [(33, 47), (7, 5), (17, 64)])
    def test_odd_resolutions(self, hw):
        model = self.build()
        assert model(frames(b=1, t=2, h=hw[0], w=hw[1])).masks.shape == (1, 2, 1, *hw)

    def test_backward_reaches_every_parameter(self):
        model = self.build()
        model(frames()).masks.square().mean().backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None, pname
            assert torch.isfinite(p.grad).all(), pname
            assert p.grad.abs().sum() > 0, pname

    def test_rejects_bad_input(self):
        model = self.build()
        with pytest.raises(ValueError, match="input channels"):
            model(frames(c=4))
        with pytest.raises(ValueError, match=r"\(B,T,C,H,W\)"):
            model(torch.zeros(3, 3, 8, 8))

    def test_config_rebuilds_the_model(self, tmp_path):
        model = self.build(width=0.5, out_channels=2)
        assert model.config["name"] == self.name
        config = json.loads(json.dumps(model.config))  # plain values only
        torch.save(model.state_dict(), tmp_path / "w.pt")
        clone = model_from_config(config)
        clone.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
        assert type(clone) is type(model)
        assert clone.num_parameters() == model.num_parameters()
        x = frames()
        torch.testing.assert_close(clone(x).masks, model(x).masks, rtol=0, atol=0)

    def test_volume_head_gives_ml_per_container(self):
        model = self.build(out_channels=0, volume_outputs=2, volume_scale_ml=250.0)
        out = model(frames())
        assert out.masks is None and out.volume.shape == (2, 3, 2)
        assert (out.volume >= 0).all()
        # softplus(0) * scale: an untrained head starts at the scale's magnitude
        assert 10.0 < float(out.volume.detach().mean()) < 1000.0
        out.volume.sum().backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, pname

    def test_joint_heads_stream_like_the_full_clip(self):
        model = self.build(out_channels=2, volume_outputs=2).eval()
        clone = model_from_config(json.loads(json.dumps(model.config)))
        clone.load_state_dict(model.state_dict())
        x = frames(t=5, h=19, w=27)
        with torch.no_grad():
            full = clone(x)
            first, state = model.forward_chunk(x[:, :2], model.init_state(2, 19, 27))
            rest, _ = model.forward_chunk(x[:, 2:], state)
        assert full.masks.shape == (2, 5, 2, 19, 27) and full.volume.shape == (2, 5, 2)
        for part in ("masks", "volume"):
            joined = torch.cat([getattr(first, part), getattr(rest, part)], 1)
            torch.testing.assert_close(joined, getattr(full, part), rtol=1e-5, atol=1e-4)

    def test_a_model_needs_a_head(self):
        with pytest.raises(PourbenchError, match="needs a mask head"):
            self.build(out_channels=0, volume_outputs=0)

    def test_width_scales_parameters(self):
        assert self.build(width=2.0).num_parameters() > 2 * self.build().num_parameters()

    def test_streaming_equals_full_forward(self):
        model = self.build().eval()
        x = frames(t=5, h=19, w=27)
        with torch.no_grad():
            full = model(x).masks
            state = model.init_state(2, 19, 27)
            steps = []
            for t in range(5):
                out, state = model.step(x[:, t], state)
                steps.append(out.masks)
            state = model.init_state(2, 19, 27)
            first, state = model.forward_chunk(x[:, :2], state)
            rest, _ = model.forward_chunk(x[:, 2:], state)
        torch.testing.assert_close(torch.stack(steps, 1), full, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(
            torch.cat([first.masks, rest.masks], 1), full, rtol=1e-5, atol=1e-5
        )

    def test_causal_future_frames_do_not_matter(self):
        model = self.build().eval()
        x = frames(t=4)
        y = x.clone()
        y[:, 2:] = torch.randn_like(y[:, 2:])
        with torch.no_grad():
            torch.testing.assert_close(model(x).masks[:, :2], model(y).masks[:, :2], rtol=0, atol=0)

    def test_overfits_one_tiny_clip(self):
        """Loss on one 4-frame 32x32 clip falls by 90 % (the model can learn at all)."""
        seq = synthetic_sequence(4, 32, 32, np.random.default_rng(0))
        x = normalise_frames(seq["rgb"], None, "rgb")[None]
        y = torch.from_numpy(seq["mask/full"]).float()[None, :, None]
        model = self.build()
        opt = torch.optim.Adam(model.parameters(), lr=self.overfit_lr)
        first = None
        for _ in range(self.overfit_max_steps):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).masks, y)
            first = loss.item() if first is None else first
            if loss.item() < 0.1 * first:
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert loss.item() < 0.1 * first, (first, loss.item())


class TestCNN(ModelContract):
    name = "cnn"

    def test_volume_head_learns_the_cup_level(self):
        """On one 8-frame clip whose cup empties in view, the volume error falls by 80 %."""
        seq = synthetic_sequence(8, 32, 32, np.random.default_rng(0))
        x = normalise_frames(seq["rgb"], None, "rgb")[None]
        y = torch.from_numpy(seq["volume"][:, :2])[None]
        model = self.build(out_channels=0, volume_outputs=2, width=0.5)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        errors = []
        for _ in range(300):
            loss = torch.nn.functional.l1_loss(model(x).volume, y)
            errors.append(loss.item())
            if loss.item() < 0.2 * errors[0]:
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert errors[-1] < 0.2 * errors[0], (errors[0], errors[-1], len(errors))

    def test_frames_are_independent(self):
        model = self.build().eval()
        x = frames(t=3)
        with torch.no_grad():
            torch.testing.assert_close(model(x).masks[:, 1], model(x[:, 1:2]).masks[:, 0])


class TestMultiFrameCNN(ModelContract):
    name = "multiframe"

    def test_window_is_the_last_k_frames(self):
        model = self.build(num_frames=3).eval()
        x = frames(t=6)
        older, inside = x.clone(), x.clone()
        older[:, 2] += 5.0  # frame 2 is outside the window of frame 5 (3, 4, 5)
        inside[:, 3] += 5.0
        with torch.no_grad():
            base = model(x).masks[:, 5]
            torch.testing.assert_close(model(older).masks[:, 5], base, rtol=0, atol=0)
            assert not torch.allclose(model(inside).masks[:, 5], base)

    def test_start_repeats_frame_zero(self):
        model = self.build(num_frames=3).eval()
        x = frames(t=2)
        padded = torch.cat([x[:, :1], x[:, :1], x], dim=1)  # explicit repeats of frame 0
        with torch.no_grad():
            torch.testing.assert_close(
                model(x).masks, model(padded).masks[:, 2:], rtol=1e-5, atol=1e-5
            )


class TestLSTMCNN(ModelContract):
    name = "lstm"

    def test_memory_reaches_later_frames(self):
        model = self.build().eval()
        x = frames(t=4)
        y = x.clone()
        y[:, 0] += 3.0
        with torch.no_grad():
            assert not torch.allclose(model(x).masks[:, 3], model(y).masks[:, 3])

    def test_classic_lstm_defaults(self):
        model = self.build()
        assert model.config["hidden_channels"] == 20 and model.config["lstm_kernel"] == 1
        assert self.build(skip=False).decoder.score[0].in_channels == 20  # memory only
        assert model.cell.gates.kernel_size == (1, 1)
        h, c = model.init_state(2, 30, 41)
        assert h.shape == c.shape == (2, 20, 4, 6)


def test_registry_lists_models_and_rejects_unknown_names():
    assert {"cnn": CNN, "multiframe": MultiFrameCNN, "lstm": LSTMCNN}.items() <= MODELS.items()
    with pytest.raises(PourbenchError, match="cnn, lstm, multiframe"):
        build_model("unet")
    with pytest.raises(PourbenchError, match="bad arguments"):
        build_model("cnn", depth=3)
