"""Reference solutions of lesson 07, and one plausible wrong answer per exercise."""


def exercise_conv_output_size(size, kernel_size, stride=1, padding=0):
    return (size + 2 * padding - kernel_size) // stride + 1


def wrong_conv_output_size(size, kernel_size, stride=1, padding=0):
    """Divides the whole padded size by the stride, forgetting the window's own width."""
    return (size + 2 * padding) // stride


def exercise_conv_parameters(in_channels, out_channels, kernel_size):
    return out_channels * in_channels * kernel_size * kernel_size + out_channels


def wrong_conv_parameters(in_channels, out_channels, kernel_size):
    """Forgets the bias, one per output channel."""
    return out_channels * in_channels * kernel_size * kernel_size
