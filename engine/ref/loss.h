// Reference losses (mean over tokens) with their gradients, templates over the scalar (float; double for
// gradient checks); same definitions as ops/loss.h. Shapes row-major: logits / student / teacher / grad
// (n_tokens, n); per_token (n_tokens). grad and per_token may be empty (not wanted). Returns the mean loss.
#pragma once
#include <cstdint>
#include <span>

namespace ds::ref {

// -log softmax(logits)[target]; targets outside [0, n) are ignored (mean over the others).
template <class T>
double cross_entropy(std::span<const T> logits, std::span<const int32_t> targets, std::span<T> grad,
                     std::span<T> per_token, int n, int n_tokens);

// T^2 KL(p || q) (forward) or T^2 KL(q || p) (reverse), p = softmax(teacher / T), q = softmax(student / T);
// the gradient is with respect to the student logits.
template <class T>
double kl_divergence(std::span<const T> student, std::span<const T> teacher, bool reverse, double temperature,
                     std::span<T> grad, std::span<T> per_token, int n, int n_tokens);

// mean over tokens of mean_i (student - teacher)^2; gradient with respect to the student.
template <class T>
double mse(std::span<const T> student, std::span<const T> teacher, std::span<T> grad, std::span<T> per_token, int n,
           int n_tokens);

}  // namespace ds::ref
