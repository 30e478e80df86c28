// The training rules every backend follows, written once beside the math:
// the optimizer's step size, when a batch or an update makes a network
// diverge, and what happens at the end of an epoch. The CPU backend, the
// fused device step (device_train.h) and the GEMM path (gemm_train.h) all
// call these, so a change of rule reaches every path at once.
#pragma once

#include <cstdint>

#include "netsweep/common.h"
#include "netsweep/math.h"

namespace netsweep {

// The step size of optimizer step `step` (1-based): Adam's bias-corrected
// lr_t (computed in double, see adam_step_size), plain lr otherwise.
NS_HD float optimizer_step_size(const OptimizerConfig& opt, int64_t step) {
  return opt.kind == Optimizer::adam ? float(adam_step_size(opt.lr, opt.beta1, opt.beta2, step)) : float(opt.lr);
}

// A batch whose summed loss is NaN or Inf takes its network out before any
// parameter changes (its gradients are dropped); so does an update that would
// leave a non-finite parameter (the parameters stay those before the step).
NS_HD bool finite_value(double v) { return v - v == 0.0; }
NS_HD bool finite_value(float v) { return v - v == 0.0f; }

// What the end of an epoch decides for one network that trained in it.
struct EpochEnd {
  bool record_loss;  // the epoch counts: its loss is stored and epochs_trained = epoch + 1
  float loss;        // the epoch's loss: the sample-weighted mean of its batch losses
  bool active;       // the network trains on
  int32_t status;    // NetStatus
};

// still_active: the network is active after the epoch's steps (false: a
// batch or an update diverged during it). loss_sum: the sum of the epoch's
// per-sample losses. A diverged network is marked so; a healthy one records
// its loss and stops early once the loss reaches early_stop_loss.
NS_HD EpochEnd end_of_epoch(bool still_active, double loss_sum, int n_train, int32_t status, bool has_early_stop,
                            float early_stop_loss) {
  if (!still_active) return {false, 0.0f, false, int32_t(NetStatus::diverged)};
  const float loss = float(loss_sum / n_train);
  if (has_early_stop && loss <= early_stop_loss) return {true, loss, false, int32_t(NetStatus::early_stopped)};
  return {true, loss, true, status};
}

}  // namespace netsweep
