# one_step.sh (sourced by bench/sweep/run.sh and slurm.sh): one_step_data DIR writes the data of a
# model that trains for one step (train 64 rows = one batch of 64, val 32, test 32; each row a
# word of its label's little vocabulary, seeded) and DIR/base.yaml, the spec of that model (bow
# 4096 x 8, no hidden layer, 1 epoch), for sweeps whose cost is all orchestration.
one_step_data() {
  local dir=$1
  /usr/bin/python3 - "$dir" <<'PY'
import random, sys
out = sys.argv[1]
random.seed(7)
ids = [2, 11, 14, 17, 25, 26, 27]
words = {2: "злость ярость", 11: "мерзко фу", 14: "страшно ужас", 17: "радость ура", 25: "грустно тоска",
         26: "вау неожиданно", 27: "стол окно"}
for name, n in (("train", 64), ("val", 32), ("test", 32)):
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("id,ru_text,labels\n")
        for i in range(n):
            l = random.choice(ids)
            f.write(f'{name}{i},"{random.choice(words[l].split())} и это",[{l}]\n')
PY
  cat > "$dir/base.yaml" <<YAML
name: one-step
data:
  labels: ekman7
  root: $dir
  train: [{path: train.csv, format: goemotions}]
  val: {path: val.csv, format: goemotions}
  test: {path: test.csv, format: goemotions}
  drop_train_overlapping_eval: false
backbone: {type: bow, dim: 8, buckets: 4096, word_ngrams: 1, char_ngrams: [3, 3]}
head: {layers: []}
train: {epochs: 1, batch_size: 64, lr: 0.1}
YAML
}
