"""The layers every family's discriminator ends with: the real/fake logit, the projection term
and the class heads (not a family: the leading underscore keeps it out of
`available_families`)."""
import tf_keras as keras


def discriminator_outputs(h, num_classes, label=None, heads=0, wrap=None):
    """D's outputs from its last features h [B, F], as every family's D ends.

    The real/fake logit [B, 1], plus the projection term <embed(label), h> when `label` (int32
    [B]) is given; then `heads` class-logit outputs [B, num_classes] (ACGAN's class head, then
    TAC-GAN's twin). All float32 whatever the mixed-precision policy, so losses stay exact.
    `wrap` wraps each layer with weights: the image family's spectral normalisation, which
    thereby covers the label embedding too, as in Miyato and Koyama's SNGAN-projection.
    Returns the logit tensor alone when there are no class heads, else a list.
    """
    wrap = wrap or (lambda layer: layer)
    logits = wrap(keras.layers.Dense(1, name="logit"))(h)
    if label is not None:
        embed = wrap(keras.layers.Embedding(num_classes, h.shape[-1],
                                            name="label_projection"))(label)
        projection = keras.layers.Dot(axes=1, name="projection")([embed, h])
        logits = keras.layers.Add(name="logit_plus_projection")([logits, projection])
    outputs = [keras.layers.Activation("linear", dtype="float32", name="logits")(logits)]
    for name in ("class_logit", "twin_logit")[:heads]:
        head = wrap(keras.layers.Dense(num_classes, name=name))(h)
        outputs.append(keras.layers.Activation("linear", dtype="float32", name=f"{name}s")(head))
    return outputs if heads else outputs[0]
