// The built-in dataset generators (--dataset NAME): TensorFlow Playground's
// and scikit-learn's 2-D classification sets and two 1-D regression curves,
// drawn from a counter-based stream per generator and seed.
#include <cmath>
#include <string>
#include <vector>

#include "netsweep/dataset.h"
#include "netsweep/random.h"

namespace netsweep {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A sequential view of one counter-based stream, for the generators.
class Draws {
 public:
  explicit Draws(uint64_t seed, uint64_t salt) : key_(mix64(seed ^ mix64(salt))) {}
  double uniform(double lo, double hi) {
    const double u = double(random_bits(key_, kDomainData, next_++) >> 11) * (1.0 / 9007199254740992.0);
    return lo + (hi - lo) * u;
  }
  double normal(double mean, double sigma) {  // Box-Muller
    const double u1 = 1.0 - uniform(0, 1), u2 = uniform(0, 1);
    return mean + sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
  }

 private:
  uint64_t key_;
  uint64_t next_ = 0;
};

uint64_t name_salt(const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: each generator gets its own stream
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The generators. Playground ones follow TensorFlow Playground's dataset.ts
// (its label +1 is class 1, -1 class 0; noise in [0, 0.5] like its slider).
PointSet make_circle(const GeneratorOptions& o, Draws& d) {
  PointSet p;
  const double radius = 5;
  auto label_of = [&](double x, double y) { return std::hypot(x, y) < radius * 0.5 ? 1 : 0; };
  for (int part = 0; part < 2; ++part) {
    const int count = part == 0 ? o.n_points / 2 : o.n_points - o.n_points / 2;
    for (int i = 0; i < count; ++i) {
      const double r = part == 0 ? d.uniform(0, radius * 0.5) : d.uniform(radius * 0.7, radius);
      const double angle = d.uniform(0, 2 * kPi);
      const double x = r * std::sin(angle), y = r * std::cos(angle);
      const double nx = d.uniform(-radius, radius) * o.noise, ny = d.uniform(-radius, radius) * o.noise;
      p.add_point(x, y, label_of(x + nx, y + ny));
    }
  }
  return p;
}

PointSet make_xor(const GeneratorOptions& o, Draws& d) {
  PointSet p;
  const double padding = 0.3;
  for (int i = 0; i < o.n_points; ++i) {
    double x = d.uniform(-5, 5), y = d.uniform(-5, 5);
    x += x > 0 ? padding : -padding;
    y += y > 0 ? padding : -padding;
    const double nx = d.uniform(-5, 5) * o.noise, ny = d.uniform(-5, 5) * o.noise;
    p.add_point(x, y, (x + nx) * (y + ny) >= 0 ? 1 : 0);
  }
  return p;
}

PointSet make_gauss(const GeneratorOptions& o, Draws& d) {
  PointSet p;
  const double variance = 0.5 + (4.0 - 0.5) * (o.noise / 0.5);  // playground's scale [0,.5] -> [.5,4]
  const double sigma = std::sqrt(variance);
  for (int part = 0; part < 2; ++part) {
    const int count = part == 0 ? o.n_points / 2 : o.n_points - o.n_points / 2;
    const double c = part == 0 ? 2 : -2;
    for (int i = 0; i < count; ++i) p.add_point(d.normal(c, sigma), d.normal(c, sigma), part == 0 ? 1 : 0);
  }
  return p;
}

PointSet make_spiral(const GeneratorOptions& o, Draws& d) {
  PointSet p;
  for (int part = 0; part < 2; ++part) {
    const int n = part == 0 ? o.n_points / 2 : o.n_points - o.n_points / 2;
    const double delta = part == 0 ? 0 : kPi;
    for (int i = 0; i < n; ++i) {
      const double r = double(i) / n * 5, t = 1.75 * double(i) / n * 2 * kPi + delta;
      p.add_point(r * std::sin(t) + d.uniform(-1, 1) * o.noise, r * std::cos(t) + d.uniform(-1, 1) * o.noise,
                  part == 0 ? 1 : 0);
    }
  }
  return p;
}

// Two classes on annuli: class c has radius uniform in [r_lo[c], r_hi[c]] (or
// exactly r with radial sigma), uniform angle, plus N(0, noise^2) per axis.
PointSet make_annuli(const GeneratorOptions& o, Draws& d, const double r_lo[2], const double r_hi[2],
                     double radial_sigma) {
  PointSet p;
  for (int c = 0; c < 2; ++c) {
    const int count = c == 0 ? o.n_points / 2 : o.n_points - o.n_points / 2;
    for (int i = 0; i < count; ++i) {
      const double r = d.uniform(r_lo[c], r_hi[c]) + (radial_sigma > 0 ? d.normal(0, radial_sigma) : 0.0);
      const double a = d.uniform(0, 2 * kPi);
      p.add_point(r * std::cos(a) + d.normal(0, o.noise), r * std::sin(a) + d.normal(0, o.noise), c);
    }
  }
  return p;
}

PointSet make_three_blobs(const GeneratorOptions& o, Draws& d) {
  PointSet p;
  const double sigma = 0.5;
  const int class0 = o.n_points / 2, class1 = o.n_points - class0;
  for (int i = 0; i < class0; ++i) {
    const double c = (i % 2 == 0) ? -1 : 1;  // alternate the two class-0 blobs
    p.add_point(d.normal(c, sigma) + d.normal(0, o.noise), d.normal(c, sigma) + d.normal(0, o.noise), 0);
  }
  for (int i = 0; i < class1; ++i)
    p.add_point(d.normal(0, sigma) + d.normal(0, o.noise), d.normal(0, sigma) + d.normal(0, o.noise), 1);
  return p;
}

PointSet make_moons(const GeneratorOptions& o, Draws& d) {  // scikit-learn's make_moons
  PointSet p;
  const int outer = o.n_points / 2, inner = o.n_points - outer;
  for (int i = 0; i < outer; ++i) {
    const double t = outer > 1 ? kPi * i / (outer - 1) : 0;
    p.add_point(std::cos(t) + d.normal(0, o.noise), std::sin(t) + d.normal(0, o.noise), 0);
  }
  for (int i = 0; i < inner; ++i) {
    const double t = inner > 1 ? kPi * i / (inner - 1) : 0;
    p.add_point(1 - std::cos(t) + d.normal(0, o.noise), 1 - std::sin(t) - 0.5 + d.normal(0, o.noise), 1);
  }
  return p;
}

PointSet make_regression(const GeneratorOptions& o, Draws& d, double lo, double hi, double (*f)(double)) {
  PointSet p;
  p.dims = 1;
  for (int i = 0; i < o.n_points; ++i) {
    const double x = d.uniform(lo, hi);
    p.add_sample(x, f(x) + (o.noise > 0 ? d.normal(0, o.noise) : 0.0));
  }
  return p;
}

double poly(double x) { return x * x * x * x - 3 * x * x + x + 1; }
double damped_sine(double x) { return std::sin(3 * x) * std::exp(-x / 8); }

}  // namespace

std::vector<std::string> generator_names() {
  return {"circle", "xor", "gauss", "spiral", "rings", "thin-rings", "three-blobs", "moons", "poly", "damped-sine"};
}

PointSet generate(const GeneratorSpec& g) {
  const std::string& name = g.name;
  const GeneratorOptions& o = g.options;
  Draws d(o.seed, name_salt(name));
  const double ring_lo[2] = {0, 3}, ring_hi[2] = {1, 4};
  const double thin_lo[2] = {0.5, 1}, thin_hi[2] = {0.5, 1};
  if (name == "circle") return make_circle(o, d);
  if (name == "xor") return make_xor(o, d);
  if (name == "gauss") return make_gauss(o, d);
  if (name == "spiral") return make_spiral(o, d);
  if (name == "rings") return make_annuli(o, d, ring_lo, ring_hi, 0);
  if (name == "thin-rings") return make_annuli(o, d, thin_lo, thin_hi, 0.005);
  if (name == "three-blobs") return make_three_blobs(o, d);
  if (name == "moons") return make_moons(o, d);
  if (name == "poly") return make_regression(o, d, -2, 2, poly);
  if (name == "damped-sine") return make_regression(o, d, -10, 10, damped_sine);
  std::string known;
  for (const auto& n : generator_names()) known += (known.empty() ? "" : ", ") + n;
  throw DataError("--dataset: unknown generator '" + name + "' (known: " + known + ")");
}

}  // namespace netsweep
