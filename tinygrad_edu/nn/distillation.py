"""Knowledge distillation: a small student learns from a large teacher's soft predictions
(Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015).

A label says only "this is a 7". A trained teacher's output says more: "a 7, somewhat like a 1,
not at all like a 0". Those small probabilities ("dark knowledge") tell the student how the
classes relate, which labels alone cannot. They are tiny at temperature 1, so both networks'
logits are divided by a temperature T > 1 first, which lifts them into view:

    p_t = softmax(z_teacher / T),   p_s = softmax(z_student / T)
    loss = α · T² · KL(p_t ‖ p_s) + (1 - α) · CE(z_student, target)

with KL(p ‖ q) = Σ_c p_c (log p_c - log q_c), averaged over the batch.

**Why T².** The gradient of the soft term with respect to a student logit is

    ∂/∂z_s,c  KL(p_t ‖ p_s) = (p_s,c - p_t,c) / T,

and for large T, p_s,c - p_t,c ≈ (z_s,c - z_t,c) / (C·T) (with zero-mean logits), so the
gradient shrinks like 1/T². Multiplying by T² keeps the soft term's gradients on the scale of
the hard term's, so that α means the same mix whatever temperature is chosen.

The teacher's logits are a fixed target (detached): no gradient flows into the teacher.
Backward is the engine's: log_softmax, the KL sum and cross-entropy bring their own rules.
"""
from __future__ import annotations

from ..autograd import ShapeError
from ..tensor import Tensor
from .losses import cross_entropy, kl_div


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor, target,
                      temperature: float = 4.0, alpha: float = 0.9) -> Tensor:
    """α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 - α)·CE(student, target), for
    logits (N, C) and class indices ``target`` (N,); the KL is summed over classes and
    averaged over the batch (``kl_div``'s "batchmean")."""
    if not temperature > 0:
        raise ValueError(f"distillation_loss: temperature must be positive, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"distillation_loss: alpha must be in [0, 1], got {alpha}")
    if student_logits.ndim != 2 or student_logits.shape != teacher_logits.shape:
        raise ShapeError(f"distillation_loss: student and teacher logits must both be (N, C), "
                         f"got {student_logits.shape} and {teacher_logits.shape}")
    soft_student = (student_logits / temperature).log_softmax(axis=-1)     # (N, C)
    soft_teacher = (teacher_logits.detach() / temperature).softmax(axis=-1)   # (N, C)
    soft = kl_div(soft_student, soft_teacher, reduction="batchmean")        # ()
    hard = cross_entropy(student_logits, target)                            # ()
    return soft * (alpha * temperature ** 2) + hard * (1 - alpha)
