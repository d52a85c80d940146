import LinearAlgebra
print("clientele")
