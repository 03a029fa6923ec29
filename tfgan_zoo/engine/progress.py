"""Where a run stands: its own step counters and scheduled values, in checkpointed variables.

  step           adversarial updates done (one = `d_steps` critic updates + one generator
                 update). The run's global step: EMA warm-up, the pruning schedule, callbacks,
                 TensorBoard and checkpoint names read it, never an optimizer's `iterations`
                 (an optimizer also counts pre-training, or a second optimizer counts its own).
  pretrain_step  updates of the pre-training phase (text: maximum likelihood), which must not
                 move the adversarial schedules.
  scheduled      {name: float32 variable} that the engine sets from the family's schedules at
                 every adversarial step (a Gumbel-softmax temperature), so a resumed run goes
                 on from the value it had.
  nonfinite      updates skipped because their gradients held NaN or Inf, and where the first
                 was (`first_nonfinite()`): what the divergence guard reads.
  overflows      updates skipped under float16 because the loss scale overflowed (it halves
                 and training goes on, see tfgan_zoo.engine.updates): normal, not divergence.

A checkpoint holds it beside the GAN (`tf.train.Checkpoint(gan=..., progress=...)`, see
tfgan_zoo.engine.checkpoints), not inside it, so checkpoints written before it existed still
restore the GAN; their step is then the generator optimizer's `iterations`, which it was.
"""
import tensorflow as tf

PRETRAIN = "pretrain"
ADVERSARIAL = "adversarial"
PHASES = (PRETRAIN, ADVERSARIAL)
# What `first_nonfinite_network` codes name: the network whose gradients went non-finite.
NETWORKS = ("discriminator", "generator", "generator (pre-training)")


def _counter(name):
    # ONLY_FIRST_REPLICA: every replica runs the same increment; a mirrored variable takes one.
    return tf.Variable(0, dtype=tf.int64, trainable=False, name=name,
                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class Progress(tf.Module):
    """The counters and scheduled values of one run; create it in the strategy's scope."""

    def __init__(self, scheduled_names=()):
        super().__init__(name="progress")
        self.step = _counter("step")
        self.pretrain_step = _counter("pretrain_step")
        self.scheduled = {
            name: tf.Variable(0.0, dtype=tf.float32, trainable=False, name=name,
                              aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            for name in scheduled_names}
        self.nonfinite = _counter("nonfinite")
        self.first_nonfinite_step = _counter("first_nonfinite_step")  # the update's number
        self.first_nonfinite_network = _counter("first_nonfinite_network")  # NETWORKS index
        self.overflows = _counter("overflows")

    def record_nonfinite(self, network, update):
        """Counts a skipped update of NETWORKS[network], number `update` of its phase (int64
        tensor); the first one's place is kept."""
        first = tf.equal(self.nonfinite, 0)
        self.first_nonfinite_step.assign(tf.where(first, update, self.first_nonfinite_step))
        self.first_nonfinite_network.assign(
            tf.where(first, tf.constant(network, tf.int64), self.first_nonfinite_network))
        self.nonfinite.assign_add(1)

    def record_overflow(self):
        """Counts an update skipped for a loss-scale overflow."""
        self.overflows.assign_add(1)

    def first_nonfinite(self):
        """(update number, network name) of the first non-finite update, or None."""
        if int(self.nonfinite.numpy()) == 0:
            return None
        return (int(self.first_nonfinite_step.numpy()),
                NETWORKS[int(self.first_nonfinite_network.numpy())])

    def counter(self, phase):
        """The variable that counts the updates of `phase`."""
        return self.pretrain_step if phase == PRETRAIN else self.step

    def total(self):
        """All updates of the run, both phases: what checkpoints are numbered by, so a
        pre-training checkpoint never shares a name with an adversarial one."""
        return int(self.step.numpy()) + int(self.pretrain_step.numpy())

    def phase(self, pretrain_steps):
        """The phase a run with `pretrain_steps` of pre-training is in now."""
        return PRETRAIN if int(self.pretrain_step.numpy()) < pretrain_steps else ADVERSARIAL
