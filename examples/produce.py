"""Produce a sign pose sequence from German text with a trained NARSignProducer (NAR-SLP).

Run the demo first (`signbridge demo` or `signbridge demo --quick`): it saves the producer and its
tokenizer to demo_output/models/nar_slp. The same as `signbridge produce "TEXT" --model DIR --out x.pose`.
"""

import sys

from transformers import AutoTokenizer

from signbridge import AutoModel  # transformers' AutoModel, with the signbridge models registered
from signbridge.data.pose_files import render_pose_gif, write_pose_file

model_dir = sys.argv[1] if len(sys.argv) > 1 else "demo_output/models/nar_slp"
text = sys.argv[2] if len(sys.argv) > 2 else "am dienstag regnet es im norden ."

producer = AutoModel.from_pretrained(model_dir)  # a NARSignProducer
tokenizer = AutoTokenizer.from_pretrained(model_dir)  # its BERT tokenizer ([CLS] ... [SEP])
batch = tokenizer([text], return_tensors="pt", return_token_type_ids=False)

# One forward pass: every frame in parallel, cut at the length regulator's prediction and
# denormalised to corpus coordinates with the pose VAE's statistics.
output = producer.generate_poses(batch["input_ids"], batch["attention_mask"])
length = int(output.lengths[0])
poses = output.poses[0, :length].numpy()  # (T, 50, 3)
print(f"{text!r} -> {length} frames ({length / 25:.2f} s at 25 fps)")

write_pose_file("produced.pose", poses, fps=25)  # pose-format file
render_pose_gif("produced.gif", poses, fps=25)  # needs the `pose` extra (Pillow)
print("wrote produced.pose and produced.gif")
