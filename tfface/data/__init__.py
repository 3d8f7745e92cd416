"""tf.data pipelines: synthetic faces, TFRecord shards, image folders with .pts."""
