"""How fast the zoo trains, against a hand-written loop on the same networks: the library behind
`python -m tfgan_zoo.benchmark` (whose --help says what is measured and how to read it).

Imports go down this list, never up:
  contest     `run`: the machine, then each model in each precision; a model's loops, built,
              timed against each other, and what follows from the figures
  report      the printed form of the report `run` returns
  timing      loops, their alternating blocks, CPU time, working memory, rates and ratios
  hand_loop   `HandLoop`: the zoo's GAN algorithm as a plain `tf.function` step
  machine     the machine, its ceilings (matmul peak, bandwidth, op overhead), a step's FLOPs
"""
