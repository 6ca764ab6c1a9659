//! MacKinnon's approximate p-values (1994) and finite-sample critical values (2010) for
//! Dickey-Fuller and Engle-Granger statistics, with the tables and arithmetic of
//! `statsmodels.tsa.adfvalues` (`mackinnonp`, `mackinnoncrit`).

use crate::options::norm_cdf;

/// The deterministic terms of a unit-root regression: none, a constant, or a constant and a
/// linear trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Trend {
    /// No constant ("n").
    #[serde(rename = "n")]
    None,
    /// A constant ("c").
    #[serde(rename = "c")]
    Constant,
    /// A constant and a linear time trend ("ct").
    #[serde(rename = "ct")]
    ConstantTrend,
}

impl Trend {
    /// Number of deterministic regressors: 0, 1 or 2.
    pub fn terms(self) -> usize {
        match self {
            Trend::None => 0,
            Trend::Constant => 1,
            Trend::ConstantTrend => 2,
        }
    }
}

/// Largest number of integrated series (N) the p-value tables cover.
pub const MAX_N: usize = 6;

// Tables of MacKinnon (1994, 2010) as statsmodels.tsa.adfvalues ships them; index N - 1.
const TAU_MAX_N: [f64; 6] = [f64::INFINITY, 1.51, 0.86, 0.88, 1.05, 1.24];
const TAU_MIN_N: [f64; 6] = [-19.04, -19.62, -21.21, -23.25, -21.63, -25.74];
const TAU_STAR_N: [f64; 6] = [-1.04, -1.53, -2.68, -3.09, -3.07, -3.77];
const TAU_SMALLP_N: [[f64; 3]; 6] = [
    [0.6344, 1.2378, 3.2496],
    [1.9129, 1.3857, 3.5322],
    [2.7648, 1.4502, 3.4186],
    [3.4336, 1.4835, 3.19],
    [4.0999, 1.5533, 3.59],
    [4.5388, 1.5344, 2.9807],
];
const TAU_LARGEP_N: [[f64; 4]; 6] = [
    [0.4797, 9.3557, -0.6999, 3.3066],
    [1.5578, 8.558, -2.083, -3.3549],
    [2.2268, 6.8093, -3.2362, -5.4448],
    [2.7654, 6.4502, -3.0811, -4.4946],
    [3.2684, 6.8051, -2.6778, -3.4972],
    [3.7268, 7.167, -2.3648, -2.8288],
];
const TAU_2010_N: [[[f64; 4]; 3]; 1] =
    [[[-2.56574, -2.2358, -3.627, 0.0], [-1.941, -0.2686, -3.365, 31.223], [-1.61682, 0.2656, -2.714, 25.364]]];
const TAU_MAX_C: [f64; 6] = [2.74, 0.92, 0.55, 0.61, 0.79, 1.0];
const TAU_MIN_C: [f64; 6] = [-18.83, -18.86, -23.48, -28.07, -25.96, -23.27];
const TAU_STAR_C: [f64; 6] = [-1.61, -2.62, -3.13, -3.47, -3.78, -3.93];
const TAU_SMALLP_C: [[f64; 3]; 6] = [
    [2.1659, 1.4412, 3.8269],
    [2.92, 1.5012, 3.9796],
    [3.4699, 1.4856, 3.164],
    [3.9673, 1.4777, 2.6315],
    [4.5509, 1.5338, 2.9545],
    [5.1399, 1.6036, 3.4445],
];
const TAU_LARGEP_C: [[f64; 4]; 6] = [
    [1.7339, 9.3202, -1.2745, -1.0368],
    [2.1945, 6.4695, -2.9198, -4.2377],
    [2.5893, 4.5168, -3.6529, -5.0074],
    [3.0387, 4.5452, -3.3666, -4.1921],
    [3.5049, 5.2098, -2.9158, -3.3468],
    [3.9489, 5.8933, -2.5359, -2.721],
];
const TAU_2010_C: [[[f64; 4]; 3]; 12] = [
    [[-3.43035, -6.5393, -16.786, -79.433], [-2.86154, -2.8903, -4.234, -40.04], [-2.56677, -1.5384, -2.809, 0.0]],
    [[-3.89644, -10.9519, -33.527, 0.0], [-3.33613, -6.1101, -6.823, 0.0], [-3.04445, -4.2412, -2.72, 0.0]],
    [[-4.29374, -14.4354, -33.195, 47.433], [-3.74066, -8.5632, -10.852, 27.982], [-3.45218, -6.2143, -3.718, 0.0]],
    [[-4.64332, -18.1031, -37.972, 0.0], [-4.096, -11.2349, -11.175, 0.0], [-3.8102, -8.3931, -4.137, 0.0]],
    [[-4.95756, -21.8883, -45.142, 0.0], [-4.41519, -14.0405, -12.575, 0.0], [-4.13157, -10.7417, -3.784, 0.0]],
    [
        [-5.24568, -25.6688, -57.737, 88.639],
        [-4.70693, -16.9178, -17.492, 60.007],
        [-4.42501, -13.1875, -5.104, 27.877],
    ],
    [
        [-5.51233, -29.576, -69.398, 164.295],
        [-4.97684, -19.9021, -22.045, 110.761],
        [-4.69648, -15.7315, -5.104, 27.877],
    ],
    [
        [-5.76202, -33.5258, -82.189, 256.289],
        [-5.22924, -23.0023, -24.646, 144.479],
        [-4.95007, -18.3959, -7.344, 94.872],
    ],
    [
        [-5.99742, -37.6572, -87.365, 248.316],
        [-5.46697, -26.2057, -26.627, 176.382],
        [-5.18897, -21.1377, -9.484, 172.704],
    ],
    [
        [-6.22103, -41.7154, -102.68, 389.33],
        [-5.69244, -29.4521, -30.994, 251.016],
        [-5.41533, -24.0006, -7.514, 163.049],
    ],
    [
        [-6.43377, -46.0084, -106.809, 352.752],
        [-5.90714, -32.8336, -30.275, 249.994],
        [-5.63086, -26.9693, -4.083, 151.427],
    ],
    [
        [-6.6379, -50.2095, -124.156, 579.622],
        [-6.11279, -36.2681, -32.505, 314.802],
        [-5.83724, -29.9864, -2.686, 184.116],
    ],
];
const TAU_MAX_CT: [f64; 6] = [0.7, 0.63, 0.71, 0.93, 1.19, 1.42];
const TAU_MIN_CT: [f64; 6] = [-16.18, -21.15, -25.37, -26.63, -26.53, -26.18];
const TAU_STAR_CT: [f64; 6] = [-2.89, -3.19, -3.5, -3.65, -3.8, -4.36];
const TAU_SMALLP_CT: [[f64; 3]; 6] = [
    [3.2512, 1.6047, 4.9588],
    [3.6646, 1.5419, 3.6448],
    [4.0983, 1.5173, 2.9898],
    [4.5844, 1.5338, 2.8796],
    [5.0722, 1.5634, 2.9472],
    [5.53, 1.5914, 3.0392],
];
const TAU_LARGEP_CT: [[f64; 4]; 6] = [
    [2.5261, 6.1654, -3.7956, -6.0285],
    [2.85, 5.272, -3.6622, -5.1695],
    [3.221, 5.255, -3.2685, -4.1501],
    [3.652, 5.9758, -2.7483, -3.2081],
    [4.0712, 6.6428, -2.3464, -2.546],
    [4.4735, 7.1757, -2.0681, -2.1196],
];
const TAU_2010_CT: [[[f64; 4]; 3]; 12] = [
    [[-3.95877, -9.0531, -28.428, -134.155], [-3.41049, -4.3904, -9.036, -45.374], [-3.12705, -2.5856, -3.925, -22.38]],
    [[-4.32762, -15.4387, -35.679, 0.0], [-3.78057, -9.5106, -12.074, 0.0], [-3.49631, -7.0815, -7.538, 21.892]],
    [[-4.66305, -18.7688, -49.793, 104.244], [-4.1189, -11.8922, -19.031, 77.332], [-3.83511, -9.0723, -8.504, 35.403]],
    [[-4.9694, -22.4694, -52.599, 51.314], [-4.42871, -14.5876, -18.228, 39.647], [-4.14633, -11.25, -9.873, 54.109]],
    [
        [-5.25276, -26.2183, -59.631, 50.646],
        [-4.71537, -17.3569, -22.66, 91.359],
        [-4.43422, -13.6078, -10.238, 76.781],
    ],
    [[-5.51727, -29.976, -75.222, 202.253], [-4.98228, -20.305, -25.224, 132.03], [-4.70233, -16.1253, -9.836, 94.272]],
    [
        [-5.76537, -33.9165, -84.312, 245.394],
        [-5.23299, -23.3328, -28.955, 182.342],
        [-4.95405, -18.7352, -10.168, 120.575],
    ],
    [
        [-6.00003, -37.8892, -96.428, 335.92],
        [-5.46971, -26.4771, -31.034, 220.165],
        [-5.19183, -21.4328, -10.726, 157.955],
    ],
    [
        [-6.22288, -41.9496, -109.881, 466.068],
        [-5.69447, -29.7152, -33.784, 273.002],
        [-5.41738, -24.2882, -8.584, 169.891],
    ],
    [
        [-6.43551, -46.1151, -120.814, 566.823],
        [-5.90887, -33.0251, -37.208, 346.189],
        [-5.63255, -27.2042, -6.792, 177.666],
    ],
    [
        [-6.63894, -50.4287, -128.997, 642.781],
        [-6.11404, -36.461, -36.246, 348.554],
        [-5.8385, -30.1995, -5.163, 210.338],
    ],
    [
        [-6.83488, -54.7119, -139.8, 736.376],
        [-6.31127, -39.9676, -37.021, 406.051],
        [-6.0365, -33.2381, -6.606, 317.776],
    ],
];

struct PTables {
    max: &'static [f64; 6],
    min: &'static [f64; 6],
    star: &'static [f64; 6],
    small: &'static [[f64; 3]; 6],
    large: &'static [[f64; 4]; 6],
}

fn p_tables(trend: Trend) -> PTables {
    match trend {
        Trend::None => {
            PTables { max: &TAU_MAX_N, min: &TAU_MIN_N, star: &TAU_STAR_N, small: &TAU_SMALLP_N, large: &TAU_LARGEP_N }
        }
        Trend::Constant => {
            PTables { max: &TAU_MAX_C, min: &TAU_MIN_C, star: &TAU_STAR_C, small: &TAU_SMALLP_C, large: &TAU_LARGEP_C }
        }
        Trend::ConstantTrend => PTables {
            max: &TAU_MAX_CT,
            min: &TAU_MIN_CT,
            star: &TAU_STAR_CT,
            small: &TAU_SMALLP_CT,
            large: &TAU_LARGEP_CT,
        },
    }
}

/// MacKinnon's (1994) approximate asymptotic p-value of a Dickey-Fuller t statistic (N = 1)
/// or of an Engle-Granger statistic over N integrated series (N = 2 for a pair), as
/// `statsmodels.tsa.adfvalues.mackinnonp(stat, regression, N)`. `n` is clamped to 1..=6.
pub fn mackinnon_p(stat: f64, trend: Trend, n: usize) -> f64 {
    let i = n.clamp(1, MAX_N) - 1;
    let t = p_tables(trend);
    if stat > t.max[i] {
        return 1.0;
    }
    if stat < t.min[i] {
        return 0.0;
    }
    // statsmodels scales the stored coefficients (the same products here) and evaluates the
    // polynomial by Horner's rule from the highest power.
    let value = if stat <= t.star[i] {
        let c = t.small[i];
        let c = [c[0], c[1], c[2] * 1e-2];
        (c[2] * stat + c[1]) * stat + c[0]
    } else {
        let c = t.large[i];
        let c = [c[0], c[1] * 1e-1, c[2] * 1e-1, c[3] * 1e-2];
        ((c[3] * stat + c[2]) * stat + c[1]) * stat + c[0]
    };
    norm_cdf(value)
}

/// MacKinnon's (2010) critical values at 1%, 5% and 10% for `nobs` observations (N series),
/// as `statsmodels.tsa.adfvalues.mackinnoncrit(N, regression, nobs)`; `None` when the tables
/// have no row for N (N > 1 without a constant).
pub fn mackinnon_crit(trend: Trend, n: usize, nobs: f64) -> Option<[f64; 3]> {
    let table: &[[[f64; 4]; 3]] = match trend {
        Trend::None => &TAU_2010_N,
        Trend::Constant => &TAU_2010_C,
        Trend::ConstantTrend => &TAU_2010_CT,
    };
    let rows = table.get(n.checked_sub(1)?)?;
    let x = 1.0 / nobs;
    Some(rows.map(|c| if nobs.is_infinite() { c[0] } else { ((c[3] * x + c[2]) * x + c[1]) * x + c[0] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_and_critical_values_match_statsmodels() {
        // mackinnonp(-2.5, "c", 1), mackinnonp(-4.0, "ct", 1), mackinnonp(-3.2, "c", 2),
        // mackinnonp(0.3, "n", 1) from statsmodels 0.15.
        let cases = [
            (-2.5, Trend::Constant, 1, 0.11547432475870761),
            (-4.0, Trend::ConstantTrend, 1, 0.008793701231094677),
            (-3.2, Trend::Constant, 2, 0.06992780168172906),
            (0.3, Trend::None, 1, 0.774864913118131),
        ];
        for (stat, trend, n, want) in cases {
            let got = mackinnon_p(stat, trend, n);
            assert!((got - want).abs() <= 1e-9 * want, "{stat} {trend:?} {n}: {got} vs {want}");
        }
        assert_eq!(mackinnon_p(-30.0, Trend::Constant, 1), 0.0);
        assert_eq!(mackinnon_p(5.0, Trend::Constant, 1), 1.0);
        let crit = mackinnon_crit(Trend::Constant, 1, 200.0).unwrap();
        let want = [-3.463_476_079_125, -2.876_102_355, -2.574_532_225];
        for (g, w) in crit.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{crit:?}");
        }
        assert!(mackinnon_crit(Trend::None, 2, 100.0).is_none());
    }
}
