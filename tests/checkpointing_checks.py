"""Gradient checkpointing checks shared by the model tests: with checkpointing a train step gives the same loss and
gradients as without it, and the forward pass keeps fewer activations for the backward pass."""

import copy

import torch


def enable_checkpointing(model) -> None:
    """transformers' switch: `activation_checkpointing_enable` where it exists (5.24 renamed it), else
    `gradient_checkpointing_enable` (the lowest supported transformers)."""
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()


def is_checkpointing(model) -> bool:
    """`is_activation_checkpointing` where it exists (5.24), else `is_gradient_checkpointing`."""
    name = "is_activation_checkpointing"
    return getattr(model, name if hasattr(type(model), name) else "is_gradient_checkpointing")


def train_step(model, inputs: dict, seed: int = 0):
    """One forward/backward in training mode: the loss and every parameter's gradient (None where it has none)."""
    model.train()
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)  # the same dropout masks in both runs (checkpointing replays the RNG state)
    loss = model(**inputs).loss
    loss.backward()
    grads = {
        name: None if p.grad is None else p.grad.detach().clone() for name, p in model.named_parameters()
    }
    return loss.detach(), grads


def saved_activation_bytes(model, inputs: dict, seed: int = 0) -> int:
    """Bytes of the tensors the forward pass keeps for the backward pass (counted by autograd's saved-tensor hooks;
    a parameter saved several times counts each time, the same in both runs)."""
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    model.train()
    torch.manual_seed(seed)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = model(**inputs).loss
    loss.backward()
    model.zero_grad(set_to_none=True)
    return total


def check_checkpointing(model, inputs: dict, layers, atol: float = 1e-6) -> tuple[int, int]:
    """Assert that checkpointing `model` (a copy) switches on every module in `layers(copy)`, leaves the loss and the
    gradients equal within `atol`, and keeps fewer activations; returns the saved bytes without and with it."""
    plain = copy.deepcopy(model)
    checkpointed = copy.deepcopy(model)
    enable_checkpointing(checkpointed)
    assert is_checkpointing(checkpointed)
    switched = [layer.gradient_checkpointing for layer in layers(checkpointed)]
    assert switched and all(switched), switched
    assert not any(layer.gradient_checkpointing for layer in layers(plain))

    loss, grads = train_step(plain, inputs)
    loss_ckpt, grads_ckpt = train_step(checkpointed, inputs)
    torch.testing.assert_close(loss_ckpt, loss, rtol=0, atol=atol)
    assert grads.keys() == grads_ckpt.keys()
    learned = [name for name, grad in grads.items() if grad is not None]
    assert learned, "no parameter received a gradient"
    for name in grads:
        assert (grads[name] is None) == (grads_ckpt[name] is None), name
        if grads[name] is not None:
            torch.testing.assert_close(grads_ckpt[name], grads[name], rtol=0, atol=atol, msg=name)

    without = saved_activation_bytes(plain, inputs)
    with_checkpointing = saved_activation_bytes(checkpointed, inputs)
    assert with_checkpointing < without, (with_checkpointing, without)
    return without, with_checkpointing
