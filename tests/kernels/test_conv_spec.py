"""ConvSpec: the state's size and each layer's input convolution."""
from rnnkit.kernels.conv_spec import ConvSpec


def test_out_size_and_layer_conv():
    spec = ConvSpec("conv_lstm", 2, 3, 4, (3, 3), (2, 1), "valid", (1, 1), num_layers=2,
                    bidirectional=True)
    assert spec.out_size((9, 8)) == (4, 6)  # (9 - 3) // 2 + 1, 8 - 3 + 1
    assert spec.layer_conv(0) == dict(stride=(2, 1), padding="valid", dilation=(1, 1))
    assert spec.layer_conv(1) == dict(stride=(1, 1), padding="same", dilation=(1, 1))
    assert spec.layer_in_channels(0) == 3 and spec.layer_in_channels(1) == 8
    assert (spec.gates, spec.n_states) == (4, 2)
    assert ConvSpec("conv_gru", 1, 1, 1, (3,), (1,), "same", (1,)).gates == 3
    assert hash(spec) == hash(ConvSpec(**spec.__dict__))  # the registry can key on it
