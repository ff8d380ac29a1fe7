{
  "variables": {
    "scorecrl_blas%": "<!(node scripts/sources.cjs blas)",
    "scorecrl_version%": "<!(node scripts/sources.cjs version)"
  },
  "targets": [
    {
      "target_name": "scorecrl",
      "sources": ["<!@(node scripts/sources.cjs list)", "native/addon/addon.cpp"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "EIGEN_MPL2_ONLY",
        "SCORECRL_VERSION=\"<(scorecrl_version)\""
      ],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-isystem", "<(module_root_dir)/native/third_party/eigen"],
      "conditions": [
        ["scorecrl_blas==1", {
          "defines": ["EIGEN_USE_BLAS"],
          "libraries": ["-lopenblas"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-isystem", "<(module_root_dir)/native/third_party/eigen", "-O3"]
          }
        }],
        ["OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/bigobj"] } },
          "include_dirs": ["native/third_party/eigen"]
        }]
      ]
    }
  ]
}
