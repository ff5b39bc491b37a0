"""Keras's recurrent examples and its "Working with RNNs" guide, ported as
tests: the model code is written as those pages write it, with only the
imports changed (``import rnnkit as keras``, ``from rnnkit import layers``);
the data is generated here, small enough to learn in seconds. Each test checks
that the loss falls well below where it started.

Sources (read for their structure, code our own): keras.io/examples/nlp/
addition_rnn, bidirectional_lstm_imdb, lstm_seq2seq; keras.io/examples/
timeseries/timeseries_weather_forecasting; keras.io/guides/working_with_rnns.
"""
import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers


def _learns(history, key="loss", factor=0.5):
    h = history.history[key]
    assert h[-1] < factor * h[0], f"{key} went from {h[0]:.4f} to {h[-1]:.4f}"


def test_addition_rnn():
    """Sequence-to-sequence addition of two numbers written as characters."""
    keras.utils.set_random_seed(0)
    digits, chars = 1, "0123456789+ "
    maxlen = digits + 1 + digits
    index = {c: i for i, c in enumerate(chars)}
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 10 ** digits, 400), rng.integers(0, 10 ** digits, 400)
    q = [f"{x}+{y}".ljust(maxlen) for x, y in zip(a, b)]
    ans = [str(x + y).ljust(digits + 1) for x, y in zip(a, b)]
    x = np.array([[np.eye(len(chars))[index[c]] for c in s] for s in q], "float32")
    y = np.array([[np.eye(len(chars))[index[c]] for c in s] for s in ans], "float32")

    model = keras.Sequential()
    model.add(layers.Input((maxlen, len(chars))))
    model.add(layers.LSTM(32))
    model.add(layers.RepeatVector(digits + 1))
    model.add(layers.LSTM(32, return_sequences=True))
    model.add(layers.Dense(len(chars), activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(0.01),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    _learns(history, factor=0.4)
    assert history.history["accuracy"][-1] > 0.7


def test_bidirectional_lstm_on_imdb_like_data():
    """Sentiment from token ids: class 1 reviews use the words of one half of the vocabulary."""
    keras.utils.set_random_seed(1)
    max_features, maxlen = 200, 30
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    reviews = [list(rng.integers(2 + 99 * lab, 101 + 99 * lab, rng.integers(5, 40)))
               for lab in labels]
    x_train = keras.utils.pad_sequences(reviews, maxlen=maxlen)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 16)(inputs)
    x = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(8))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, labels.astype("float32"), batch_size=32, epochs=6, verbose=0,
                        validation_split=0.2)
    _learns(history, factor=0.5)
    assert history.history["val_accuracy"][-1] > 0.9


def test_character_level_seq2seq_with_inference_models():
    """Teacher-forced encoder-decoder, then the example's separate inference models
    built from the trained model's layers and tensors; here the target is the
    input sequence reversed."""
    keras.utils.set_random_seed(2)
    num_tokens, latent_dim, T = 6, 32, 5
    rng = np.random.default_rng(2)
    seqs = rng.integers(1, num_tokens, (400, T))
    onehot = np.eye(num_tokens, dtype="float32")
    encoder_input_data = onehot[seqs]
    targets = seqs[:, ::-1]
    decoder_input_data = onehot[np.concatenate([np.zeros((400, 1), int), targets[:, :-1]], 1)]
    decoder_target_data = onehot[targets]

    encoder_inputs = keras.Input(shape=(None, num_tokens))
    encoder = layers.LSTM(latent_dim, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]
    decoder_inputs = keras.Input(shape=(None, num_tokens))
    decoder_lstm = layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = layers.Dense(num_tokens, activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit([encoder_input_data, decoder_input_data], decoder_target_data,
                        batch_size=32, epochs=20, validation_split=0.2, verbose=0)
    _learns(history, factor=0.4)

    # The example's inference setup, from the trained model.
    encoder_inputs = model.input[0]
    encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output
    encoder_model = keras.Model(encoder_inputs, [state_h_enc, state_c_enc])
    decoder_inputs = model.input[1]
    decoder_state_input_h = keras.Input(shape=(latent_dim,))
    decoder_state_input_c = keras.Input(shape=(latent_dim,))
    decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
    decoder_lstm = model.layers[3]
    decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(
        decoder_inputs, initial_state=decoder_states_inputs)
    decoder_dense = model.layers[4]
    decoder_outputs = decoder_dense(decoder_outputs)
    decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs,
                                [decoder_outputs, state_h_dec, state_c_dec])

    states = encoder_model.predict(encoder_input_data[:50])
    token = np.zeros((50, 1, num_tokens), "float32")
    token[:, 0, 0] = 1.0
    decoded = []
    for _ in range(T):  # greedy decoding, one step at a time
        out, h, c = decoder_model.predict([token] + list(states))
        nxt = out[:, -1].argmax(-1)
        decoded.append(nxt)
        token = onehot[nxt][:, None]
        states = [h, c]
    accuracy = (np.stack(decoded, 1) == targets[:50]).mean()
    assert accuracy > 0.6


def test_timeseries_forecasting():
    """The weather example's pipeline on a generated multichannel series: windows
    from keras.preprocessing.timeseries_dataset_from_array, LSTM(32) -> Dense(1),
    EarlyStopping."""
    keras.utils.set_random_seed(3)
    t = np.arange(1500, dtype="float32")
    features = np.stack([np.sin(t / 20), np.cos(t / 33), np.sin(t / 7) * 0.3], 1)
    past, future, step, sequence_length = 48, 6, 2, 24
    x_all, y_all = features[:-past - future], features[past + future:, 0]
    train_split = 1000
    dataset_train = keras.preprocessing.timeseries_dataset_from_array(
        x_all[:train_split], y_all[:train_split], sequence_length=sequence_length,
        sampling_rate=step, batch_size=64)
    dataset_val = keras.preprocessing.timeseries_dataset_from_array(
        x_all[train_split:], y_all[train_split:], sequence_length=sequence_length,
        sampling_rate=step, batch_size=64)
    inputs, targets = next(iter(dataset_train))

    inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
    lstm_out = keras.layers.LSTM(32)(inputs)
    outputs = keras.layers.Dense(1)(lstm_out)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="mse")
    es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
    history = model.fit(dataset_train, epochs=8, validation_data=dataset_val,
                        callbacks=[es_callback], verbose=0)
    _learns(history, factor=0.3)
    assert min(history.history["val_loss"]) < 0.3 * history.history["val_loss"][0]


class MinimalRNNCell(layers.Layer):
    """The guide's custom cell."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="orthogonal",
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        prev_output = states[0]
        h = inputs @ self.kernel
        output = h + prev_output @ self.recurrent_kernel
        return output, [output]


def test_rnn_guide_layers_states_cells_and_stateful_streams():
    keras.utils.set_random_seed(4)
    # Built-in layers, return_sequences and return_state (the guide's first sections).
    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=100, output_dim=8))
    model.add(layers.GRU(16, return_sequences=True))
    model.add(layers.SimpleRNN(8))
    model.add(layers.Dense(2))
    assert model(np.ones((3, 7), "int64")).shape == (3, 2)

    encoder_input = layers.Input(shape=(None,))
    encoder_embedded = layers.Embedding(input_dim=50, output_dim=8)(encoder_input)
    output, state_h, state_c = layers.LSTM(16, return_state=True, name="encoder")(
        encoder_embedded)
    decoder_input = layers.Input(shape=(None,))
    decoder_embedded = layers.Embedding(input_dim=40, output_dim=8)(decoder_input)
    decoder_output = layers.LSTM(16, name="decoder")(decoder_embedded,
                                                     initial_state=[state_h, state_c])
    output = layers.Dense(10)(decoder_output)
    model = keras.Model([encoder_input, decoder_input], output)
    assert model.predict([np.ones((2, 5)), np.ones((2, 4))]).shape == (2, 10)

    # RNN(cell) and the custom cell learn a running sum.
    rng = np.random.default_rng(4)
    x = rng.normal(size=(256, 10, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None] / 4
    for cell in (layers.LSTMCell(16), MinimalRNNCell(16)):
        inputs = keras.Input((None, 3))
        outputs = layers.Dense(1)(layers.RNN(cell)(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.Adam(0.01), "mse")
        _learns(model.fit(x, y, epochs=15, batch_size=32, verbose=0), factor=0.2)

    # Stateful streams: three sub-sequences in one go, then states carried over by hand.
    paragraph1, paragraph2, paragraph3 = (rng.normal(size=(4, 6, 5)).astype("float32")
                                          for _ in range(3))
    lstm_layer = layers.LSTM(8, stateful=True)
    lstm_layer(paragraph1)
    lstm_layer(paragraph2)
    output = lstm_layer(paragraph3)
    existing_state = lstm_layer.states
    new_lstm_layer = layers.LSTM(8)
    new_output = new_lstm_layer(paragraph3, initial_state=existing_state)
    assert new_output.shape == output.shape
    lstm_layer.reset_states()
    assert lstm_layer.states is None

    # Bidirectional, as the guide closes.
    model = keras.Sequential()
    model.add(layers.Bidirectional(layers.LSTM(8, return_sequences=True), input_shape=(5, 10)))
    model.add(layers.Bidirectional(layers.LSTM(4)))
    model.add(layers.Dense(10))
    assert model.count_params() == 2 * 4 * (10 * 8 + 8 * 8 + 8) + 2 * 4 * (16 * 4 + 4 * 4 + 4) \
        + 8 * 10 + 10
